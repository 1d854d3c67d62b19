from app.public.routes import bp  # noqa: F401
