from app.catalogue.routes import bp  # noqa: F401
