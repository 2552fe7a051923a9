"""Retrieval for the AI tutor: lesson passages from catalog.db, lexical (FTS5) + dense (Qdrant)."""

from .index import Passage, Retriever, get_retriever

__all__ = ["Passage", "Retriever", "get_retriever"]
