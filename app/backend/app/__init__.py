"""TaskFlow backend: a FastAPI service for todo tasks with a rule-based chat assistant."""
