"""Flask extensions, created unbound and initialised by `registrar.app.create_app`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
migrate = Migrate()
limiter = Limiter(key_func=get_remote_address)  # the client's address (behind a proxy: see REGISTRAR_PROXIES)
