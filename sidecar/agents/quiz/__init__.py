"""Questions: the Assessor's adaptive selection and the Quiz Generator's verified items."""
