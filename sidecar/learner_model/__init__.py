"""The learner model: per-skill mastery with fitted parameters, its fit, its evaluation, FSRS's check.

Pure functions over numpy arrays and files: nothing here touches the database, the settings or the
web, so `drona learner-model` and the tutor share one implementation (see docs/analytics.md,
"Learner model").

- `data`: the log format (CSV `user_id,skill_id,correct,timestamp`) and its validation;
- `model`: the fitted logistic model (Best-LR/PFA family), its features and its Newton fit;
- `online`: the same model one learner at a time, as the tutor and the Assessor use it;
- `bkt`: Bayesian knowledge tracing with textbook parameters (the model used before);
- `metrics`: AUC, log-loss and RMSE; `evaluate`: the three models side by side;
- `generate`: simulated learners with known parameters; `fsrs_check`: FSRS replayed on review logs.
"""
