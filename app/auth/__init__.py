from app.auth.routes import bp  # noqa: F401
