from app.supervision import (
    follow_ups,  # noqa: F401  (poor ratings and their follow-up, same blueprint)
    joint_extension,  # noqa: F401  (the city decides joint extensions, same blueprint)
)
from app.supervision.routes import bp  # noqa: F401
