from app.public import holder_check  # noqa: F401  (the holder check: same blueprint)
from app.public.routes import bp  # noqa: F401
