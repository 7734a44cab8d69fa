"""``python -m impressions.web``: what bin/serve runs."""

import sys

from impressions.web.serve import main

sys.exit(main())
