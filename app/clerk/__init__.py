from app.clerk.routes import bp  # noqa: F401
