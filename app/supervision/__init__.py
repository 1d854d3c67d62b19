from app.supervision.routes import bp  # noqa: F401
