from app.clerk import (
    joint_extension,  # noqa: F401  (asking the city for the joint extension, same blueprint)
    licences,  # noqa: F401  (the licence pages, on the same blueprint)
)
from app.clerk.routes import bp  # noqa: F401
