"""Certificates over HTTP: eligibility, the learner's list, verification (JSON and page), downloads,
the issuer's documents, revocation and the transparency log.

Verification, the credential, its bundle and PDF, the issuer's keys, the status list and the log
are public: anyone may check a certificate without an account (§9.4). Everything else needs the
learner; revocation needs a super admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from sidecar.auth.deps import CurrentPrincipal, OptionalPrincipal, require_role
from sidecar.auth.roles import Role
from sidecar.deps import CatalogDbDep, EngineDep, SettingsDep
from sidecar.errors import NotFound

from . import documents, service, translog
from .models import (
    CertificatePublic,
    CertificationTierPublic,
    CourseCertificationPublic,
    RevocationCreate,
    VerificationPublic,
)

router = APIRouter(tags=["certificates"])
pages = APIRouter(include_in_schema=False)
SuperAdmin = Annotated[Any, Depends(require_role(Role.SUPER_ADMIN))]
Format = Annotated[str, Query(description="academic, linkedin, shareable or company (an organisation's branding).",
                              pattern="^(academic|linkedin|shareable|company)$")]
_PUBLIC_CACHE = {"Cache-Control": "no-cache"}  # revocation must show at once
MAX_LOG_SIZE = 2**53  # far beyond any log; keeps indexes within every database's integers
LogIndex = Annotated[int, Path(ge=0, le=MAX_LOG_SIZE)]


class CredentialResponse(JSONResponse):
    """A W3C Verifiable Credential, sent (and so documented in the OpenAPI document) as application/vc+ld+json."""

    media_type = "application/vc+ld+json"


@router.get("/certifications", response_model=list[CertificationTierPublic], summary="The certificate tiers")
def list_tiers(catalog_db: CatalogDbDep) -> list[CertificationTierPublic]:
    """Bronze, Silver and Gold as content/certifications.yaml defines them: titles, XP and requirements."""
    return service.tier_definitions(catalog_db=catalog_db)


@router.get("/certifications/{course_id}", response_model=CourseCertificationPublic,
            summary="Where you stand on each tier of a course")
def course_status(course_id: str, principal: OptionalPrincipal, engine: EngineDep, settings: SettingsDep,
                  catalog_db: CatalogDbDep) -> CourseCertificationPublic:
    """Per tier: earned or not (with the verification link), whether the course offers it, every
    requirement with whether it is met (Bronze: each module and each quiz's best score against 70 %;
    Silver: the bank, cool-down and any open attempt; Gold: the options and the submission's state).
    Signed out, the requirements are listed with nothing met."""
    user_id = principal.user.id if principal else None
    return service.course_status(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                                 course_id=course_id)


@router.get("/me/certificates", response_model=list[CertificatePublic], summary="Your certificates")
def my_certificates(principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep) -> list[CertificatePublic]:
    """Newest first, with the links to share, print, download and add to LinkedIn."""
    return service.my_certificates(engine=engine, settings=settings, user_id=principal.user.id)


@router.get("/verify/{credential_id}", response_model=VerificationPublic, summary="Verify a certificate")
def verify(credential_id: str, engine: EngineDep, settings: SettingsDep) -> VerificationPublic:
    """Public, no sign-in. `status` is `valid`, `revoked` or `invalid` (the signature, the signed claims or
    the log entry do not check out). Carries the scores, the evidence (content commit, hash of the grader's
    tests), the signature check and the log's inclusion proof against the latest signed tree head."""
    return service.verification(engine=engine, settings=settings, certificate_id=credential_id)


@router.get("/certificates/{credential_id}/credential.json", summary="The signed Open Badges 3.0 credential",
            response_class=CredentialResponse)
def credential(credential_id: str, engine: EngineDep) -> CredentialResponse:
    """An OpenBadgeCredential (W3C Verifiable Credentials 2.0) with an eddsa-rdfc-2022 Data Integrity proof."""
    document = service.credential_document(engine=engine, certificate_id=credential_id)
    return CredentialResponse(document, headers={"Content-Disposition": f'attachment; filename="{credential_id}.json"'})


@router.get("/certificates/{credential_id}/bundle.json", summary="Everything needed to verify offline")
def verification_bundle(credential_id: str, engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    """The credential, the issuer's verification methods, the signed status list and the log's inclusion
    proof with its signed tree head: `drona verify bundle.json` checks it all without a network."""
    document = service.verification_bundle(engine=engine, settings=settings, certificate_id=credential_id)
    return JSONResponse(document, headers={
        "Content-Disposition": f'attachment; filename="{credential_id}-bundle.json"', **_PUBLIC_CACHE})


@router.get("/certificates/{credential_id}/certificate.pdf", summary="The certificate as a PDF",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def certificate_pdf(credential_id: str, engine: EngineDep, settings: SettingsDep,
                    format: Format = "academic") -> Response:  # noqa: A002 - the query parameter's name
    """A4 landscape with a QR code to the verification page, in the learner kind's format."""
    view = service.verification(engine=engine, settings=settings, certificate_id=credential_id)
    return Response(documents.render_pdf(view.model_dump(mode="json"), format), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="certificate-{credential_id}.pdf"',
                             **_PUBLIC_CACHE})


@router.post("/certificates/{credential_id}/revoke", response_model=VerificationPublic,
             summary="Revoke a certificate (super admin)")
def revoke(credential_id: str, body: RevocationCreate, principal: SuperAdmin, engine: EngineDep,
           settings: SettingsDep) -> VerificationPublic:
    """Sets its bit in the status list and appends the revocation to the transparency log. 409 if revoked."""
    service.revoke(engine=engine, settings=settings, certificate_id=credential_id, reason=body.reason,
                   by_user_id=principal.user.id)
    return service.verification(engine=engine, settings=settings, certificate_id=credential_id)


@router.get("/issuer", summary="The issuer's profile and keys")
def issuer_profile(engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    """The Open Badges issuer Profile with every verification method ever used (retired keys included,
    so that old credentials keep verifying after a rotation)."""
    return JSONResponse(service.issuer_profile(engine=engine, settings=settings), headers=_PUBLIC_CACHE)


@router.get("/issuer/keys", summary="The issuer's public keys (Multikey)")
def issuer_keys(engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(service.issuer_keys(engine=engine, settings=settings), headers=_PUBLIC_CACHE)


@router.get("/issuer/status/1", summary="The revocation status list", response_class=CredentialResponse)
def status_list(engine: EngineDep, settings: SettingsDep) -> CredentialResponse:
    """A signed BitstringStatusListCredential: a credential's `credentialStatus.statusListIndex` bit is 1
    when it was revoked."""
    return CredentialResponse(service.status_list_document(engine=engine, settings=settings), headers=_PUBLIC_CACHE)


@router.get("/transparency/entries/{index}/proof", summary="Inclusion proof of a log entry")
def inclusion_proof(index: LogIndex, engine: EngineDep) -> dict[str, Any]:
    """The entry, its RFC 9162 audit path against the latest signed tree head, and whether it verified."""
    return service.inclusion_proof(engine=engine, index=index)


@router.get("/transparency/consistency", summary="Consistency proof between two tree sizes")
def consistency(engine: EngineDep, first: Annotated[int, Query(ge=1, le=MAX_LOG_SIZE)],
                second: Annotated[int, Query(ge=1, le=MAX_LOG_SIZE)]) -> dict[str, Any]:
    """Proves the log at `second` extends the log at `first` (RFC 9162 §2.1.4): holders of an old signed
    tree head detect a rewritten history with it. Both signed heads are included."""
    return service.consistency_proof(engine=engine, first=first, second=second)


# ---- pages (no /api prefix) -------------------------------------------------------------------------


def _html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers={
        **_PUBLIC_CACHE, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
        "data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"})


def _not_found_page() -> HTMLResponse:
    return _html(documents.render_not_found_page(), status_code=404)


@pages.get("/verify/{credential_id}")
def verify_page(credential_id: str, engine: EngineDep, settings: SettingsDep) -> HTMLResponse:
    try:
        view = service.verification(engine=engine, settings=settings, certificate_id=credential_id)
    except NotFound:
        return _not_found_page()
    return _html(documents.render_verify_page(view.model_dump(mode="json")))


@pages.get("/certificates/{credential_id}/print")
def print_page(credential_id: str, engine: EngineDep, settings: SettingsDep, format: str = "academic") -> HTMLResponse:  # noqa: A002
    try:
        view = service.verification(engine=engine, settings=settings, certificate_id=credential_id)
    except NotFound:
        return _not_found_page()
    return _html(documents.render_print_page(view.model_dump(mode="json"), format))


@pages.get("/transparency/{name:path}")
def transparency_file(name: str, engine: EngineDep, settings: SettingsDep) -> Response:
    """The log's static files (checkpoint.json, heads/<size>.json with heads/<size>.tsr when anchored to a
    timestamp authority, entries/<index>.json), brought up to date first so that a reader never sees a
    checkpoint older than the database's."""
    service.publish(engine=engine, settings=settings)
    folder = translog.published_folder(settings).resolve()
    target = (folder / name).resolve()
    media = {".json": "application/json", ".tsr": "application/timestamp-reply"}.get(target.suffix)
    if folder not in target.parents or not target.is_file() or media is None:
        raise NotFound("No such file in the transparency log.")
    return FileResponse(target, media_type=media, headers=_PUBLIC_CACHE)
