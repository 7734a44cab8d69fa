"""The Flask app: one page, the list of served models, and the answer to an uploaded clip.

Safe by default: the upload size is capped (Flask answers a bigger body with 413), an upload is
stored under a generated name in a private temporary folder and deleted after its answer, the
model is chosen from the list the server built (no user string names a file), and every error
the user can cause is a short JSON message with a 4xx status, never a traceback.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from impressions.web.answer import UploadError, answer
from impressions.web.runs import ServedModel

log = logging.getLogger("impressions.web")


def model_list(served: dict[str, ServedModel]) -> list[dict]:
    """What the page's model menu shows of each served model."""
    return [
        {"key": key, "dataset": m.dataset, "model": m.name, "task": m.task.type, "outputs": list(m.task.outputs), "cam": m.cam is not None}
        for key, m in served.items()
    ]


def create_app(served: dict[str, ServedModel], *, max_upload_mb: float, max_duration_s: float, uploads: str | Path | None = None) -> Flask:
    """The app over models loaded once (`impressions.web.runs.load_served`).

    Parameters
    ----------
    uploads : the private folder uploads go to while they are answered (default: a new one,
        readable by this user only, removed when the app goes); each request gets its own
        folder inside, deleted after its answer
    """
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = int(max_upload_mb * 2**20)
    if uploads is None:
        app.extensions["uploads"] = tempfile.TemporaryDirectory(prefix="impressions-web-")
        uploads = app.extensions["uploads"].name
    app.config["UPLOADS"] = Path(uploads)

    @app.get("/")
    def page():
        return render_template("index.html", models=model_list(served), max_upload_mb=max_upload_mb, max_duration_s=max_duration_s)

    @app.get("/models")
    def models():
        return jsonify(model_list(served))

    @app.post("/predict")
    def predict():
        key = request.form.get("model", "")
        if key not in served:
            return _error(f"unknown model {key!r}; choose one of {sorted(served)}", 400)
        upload = request.files.get("clip")
        if upload is None:
            return _error("no clip was uploaded (form field 'clip')", 400)
        folder = Path(tempfile.mkdtemp(dir=app.config["UPLOADS"]))
        try:
            path = folder / "upload"
            upload.save(path)
            return jsonify(answer(served[key], path, max_duration_s=max_duration_s))
        except UploadError as error:
            return _error(str(error), error.status)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @app.errorhandler(413)
    def too_big(error):
        return _error(f"the upload is larger than the limit of {max_upload_mb:g} MB (serve.max_upload_mb)", 413)

    @app.errorhandler(HTTPException)
    def http_error(error):
        return _error(error.description or error.name, error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("the answer failed")
        return _error("the server could not answer this clip; its log says why", 500)

    return app


def _error(message: str, status: int):
    return jsonify({"error": message}), status
