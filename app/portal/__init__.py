from app.portal.routes import bp  # noqa: F401
