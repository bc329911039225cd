"""PDFs of signed documents: LibreOffice headless converts the frozen DOCX in the worker; the result is cached by the
DOCX's SHA-256 (`DocumentPdf`), so every download of a document's PDF is the same bytes, which the verification
page recognises.

A download asks for the PDF (`request_pdf`): a ready one is served at once; otherwise a `pending` row is written and,
once the request's transaction has committed, the `convert_document_pdf` actor is sent the DOCX's hash. The actor
converts outside any transaction, each conversion with its own LibreOffice profile folder (parallel conversions do
not share one) and a timeout, and stores the PDF (or the error: a later download asks again). Without LibreOffice
(`soffice` not found) no PDF is offered and asking answers 503.
"""

import logging
import os
import shutil
import signal
import subprocess  # nosec B404
import tempfile
from datetime import UTC, timedelta
from pathlib import Path

import dramatiq
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from core.db import db, utcnow, write_after_reads
from core.errors import InvalidInput
from notifications import relay
from orders.documents import sha256
from orders.models import DocumentPdf, OrderDocument, OrderExtract

log = logging.getLogger(__name__)
EXTENSION = "registrar_pdf"
_PENDING_KEY = "pdf_conversions"  # DOCX hashes to hand to the actor once this transaction commits
PDF_MIMETYPE = "application/pdf"


class ConversionFailed(RuntimeError):
    pass


def soffice() -> str | None:
    """The LibreOffice program, or None when it is not installed (setting REGISTRAR_SOFFICE, default `soffice`)."""
    return shutil.which(current_app.config.get("SOFFICE") or "soffice")


def available() -> bool:
    return soffice() is not None


def convert(content: bytes, timeout: float | None = None) -> bytes:
    """The PDF of a DOCX, by `soffice --headless --convert-to pdf` in a fresh folder with its own user profile;
    killed (with everything it started) after `timeout` seconds."""
    program = soffice()
    if program is None:
        raise ConversionFailed("LibreOffice (soffice) is not installed")
    timeout = timeout or float(current_app.config.get("PDF_TIMEOUT", 120))
    with tempfile.TemporaryDirectory(prefix="registrar-pdf-") as folder:
        work = Path(folder)
        source = work / "document.docx"
        source.write_bytes(content)
        command = [
            program,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(source),
        ]
        # LibreOffice with a fixed argument list, never through a shell.
        process = subprocess.Popen(  # nosec B603
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "HOME": folder},
            start_new_session=True,  # its own process group: a timeout ends soffice.bin too
        )
        try:
            _out, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ConversionFailed(f"LibreOffice did not finish within {timeout:g} s") from error
        result = work / "document.pdf"
        if process.returncode != 0 or not result.exists():
            message = errors.decode(errors="replace").strip()[-500:]
            raise ConversionFailed(f"LibreOffice failed (exit {process.returncode}): {message}")
        return result.read_bytes()


def convert_now(content: bytes) -> bytes:
    """The PDF of a DOCX that is not cached, converted in this request: a draft preview (a draft changes) or a
    dean's extract of own faculty's lines (cut fresh per download, no frozen DOCX to key it by). 503 without
    LibreOffice or when the conversion fails."""
    if not available():
        raise InvalidInput(
            {},
            status=503,
            message=_("PDF is not available: LibreOffice is not installed on the server. Download the DOCX instead."),
        )
    try:
        return convert(content)
    except (ConversionFailed, OSError) as error:
        raise InvalidInput(
            {}, status=503, message=_("The PDF could not be made: %(error)s", error=str(error))
        ) from error


def docx_content(docx_sha256: str) -> bytes | None:
    """The frozen DOCX with this hash: a signed order's, or an extract's."""
    content = db.session.scalar(select(OrderDocument.content).where(OrderDocument.sha256 == docx_sha256).limit(1))
    if content is None:
        content = db.session.scalar(select(OrderExtract.content).where(OrderExtract.sha256 == docx_sha256).limit(1))
    return content


def cached(docx_sha256: str) -> DocumentPdf | None:
    return db.session.get(DocumentPdf, docx_sha256)


def request_pdf(docx_sha256: str) -> DocumentPdf:
    """The cached PDF row of a DOCX, asking the worker for a conversion (after this transaction commits) unless it
    is ready or one asked for recently is still under way."""
    row = cached(docx_sha256)
    now = utcnow()
    stale = now - timedelta(seconds=2 * float(current_app.config.get("PDF_TIMEOUT", 120)))
    if row is not None and (row.status == "ready" or (row.status == "pending" and _aware(row.requested_at) > stale)):
        return row
    if row is None:
        row = DocumentPdf(docx_sha256=docx_sha256, status="pending", requested_at=now)
        db.session.add(row)
    else:  # failed, or pending for too long (a worker that died): ask again
        row.status, row.error, row.requested_at = "pending", None, now
    db.session.flush()
    db.session.info.setdefault(_PENDING_KEY, []).append(docx_sha256)
    return row


def _aware(moment):
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def convert_and_store(docx_sha256: str) -> str:
    """The actor's work: convert the DOCX with this hash and store its PDF; idempotent (a ready PDF is kept).
    Returns "ready", "failed" or "skipped"."""
    row = cached(docx_sha256)
    if row is not None and row.status == "ready":
        db.session.commit()
        return "skipped"
    content = docx_content(docx_sha256)
    db.session.commit()  # it only read: no transaction is held while LibreOffice works
    values = {"converted_at": utcnow()}
    try:
        if content is None:
            raise ConversionFailed("no signed document has this SHA-256")
        pdf = convert(content)
        values |= {"status": "ready", "content": pdf, "sha256": sha256(pdf), "error": None}
    except (ConversionFailed, OSError) as error:
        log.warning("PDF of %s not made: %s", docx_sha256, error)
        values |= {"status": "failed", "error": str(error)[:2000]}
    done = write_after_reads(
        update(DocumentPdf).where(DocumentPdf.docx_sha256 == docx_sha256, DocumentPdf.status != "ready").values(values)
    )
    if not done and cached(docx_sha256) is None:
        db.session.add(DocumentPdf(docx_sha256=docx_sha256, requested_at=utcnow(), **values))
    db.session.commit()
    return values["status"]


def init_app(app: Flask) -> None:
    """The conversion actor, on the broker of the delivery service (in-process in the embedded mode)."""
    queue = app.extensions[relay.EXTENSION]

    def convert_document_pdf(docx_sha256: str) -> None:
        with app.app_context():
            convert_and_store(docx_sha256)

    timeout = float(app.config.get("PDF_TIMEOUT", 120))
    actor = dramatiq.actor(
        convert_document_pdf,
        broker=queue.broker,
        actor_name="convert_document_pdf",
        queue_name=queue.queue,
        max_retries=0,  # a failure is stored; the next download asks again
        time_limit=int((timeout + 30) * 1000),
    )
    app.extensions[EXTENSION] = actor


def _dispatch(hashes: list[str]) -> None:
    try:
        actor = current_app.extensions[EXTENSION]
        for docx_sha256 in dict.fromkeys(hashes):
            actor.send(docx_sha256)
    except Exception:  # broker down: the row stays pending and the next download after it goes stale asks again
        log.exception("could not hand PDF conversions to the broker")


@event.listens_for(Session, "after_commit")
def _convert_after_commit(session: Session) -> None:
    hashes = session.info.pop(_PENDING_KEY, None)
    if hashes:
        _dispatch(hashes)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
