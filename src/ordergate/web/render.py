"""Page rendering: the Jinja2 environment, the buyer's locale, CSRF tokens, QR codes and page headers."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import phonenumbers
import pycountry
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from ordergate import clock, money
from ordergate.middleware import CSRF_COOKIE
from ordergate.security import same_secret
from ordergate.settings import Settings
from ordergate.stores.models import Store

if TYPE_CHECKING:
    from babel import Locale
    from jinja2 import Environment

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# No inline script or style anywhere: everything comes from /static on this origin.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
CSRF_FIELD = "csrf"
_CSRF_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@lru_cache(maxsize=64)
def _static_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """`/static/app.css?v=<content hash>`: cached by browsers, refetched when the file changes."""
    return f"/static/{name}?v={_static_version(name)}"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Jinja, segno and Babel load with the first page, not with the API's routes (memory).
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.globals["country_name"] = country_name
    return env


# --- the buyer's locale --------------------------------------------------------------------


def _accept_language(header: str) -> list[str]:
    """Language tags from an Accept-Language header, best first."""
    tags: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and tag != "*" and weight > 0:
            tags.append((-weight, n, tag.strip()))
    return [tag for _, _, tag in sorted(tags)]


def _parse_locale(tag: str, sep: str) -> Locale | None:
    # Babel (like Jinja) loads with the first page: the API's routes never format for a locale.
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(tag, sep=sep)
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def buyer_locale(request: Request, store: Store | None) -> Locale:
    """The buyer's locale from Accept-Language, else the store's, else English."""
    for tag in _accept_language(request.headers.get("accept-language", "")):
        found = _parse_locale(tag, "-")
        if found is not None:
            return found
    if store is not None:
        found = _parse_locale(store.locale, "_")
        if found is not None:
            return found
    return _english()


def default_country(locale: Locale, store: Store | None) -> str | None:
    """The country to preselect: the buyer's locale's territory, else the store's."""
    store_locale = _parse_locale(store.locale, "_") if store else None
    for territory in (locale.territory, store_locale.territory if store_locale else None):
        if territory and pycountry.countries.get(alpha_2=territory) is not None:
            return str(territory)
    return None


def store_country(store: Store) -> str | None:
    """The store's own country (its locale's territory): where a delivery most likely goes."""
    return default_country(_english(), store)


@lru_cache(maxsize=1)
def _english() -> Locale:
    from babel import Locale

    return Locale("en")


@lru_cache(maxsize=1)
def countries() -> list[tuple[str, str]]:
    """(ISO code, English name) of every country, by name."""
    names = _english().territories
    rows = []
    for country in pycountry.countries:
        code = str(country.alpha_2)
        rows.append((code, str(names.get(code) or getattr(country, "common_name", None) or country.name)))
    return sorted(rows, key=lambda row: row[1])


@lru_cache(maxsize=1)
def phone_regions() -> list[tuple[str, str]]:
    """(ISO code, "Ireland (+353)") for every country with a calling code."""
    rows = []
    for code, name in countries():
        calling = phonenumbers.country_code_for_region(code)
        if calling:
            rows.append((code, f"{name} (+{calling})"))
    return rows


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return dict(countries()).get(code.upper(), code)


class Formats:
    """Numbers, money and times in the buyer's locale; the words around them stay English."""

    def __init__(self, locale: Locale):
        self.locale = locale

    def money(self, amount: str | Decimal, code: str) -> str:
        value = _decimal(amount)
        if code.upper() in money.ASSET_EXPONENTS:
            # A crypto amount is shown as a wallet wants it typed: digits and a point, never rounded.
            return f"{money.quantize(value, code):f} {code.upper()}"
        from babel.numbers import format_currency

        return str(format_currency(value, code, locale=self.locale))

    def number(self, amount: str | Decimal) -> str:
        from babel.numbers import format_decimal

        return str(format_decimal(_decimal(amount), locale=self.locale, decimal_quantization=False))

    def moment(self, when: datetime) -> Markup:
        """The time in UTC; the page's script shows it in the buyer's time zone (UTC on hover)."""
        from babel.dates import format_datetime

        text = f"{format_datetime(when.astimezone(UTC), 'medium', tzinfo=UTC, locale=self.locale)} UTC"
        return Markup('<time datetime="{}" data-local>{}</time>').format(self.iso(when), text)

    def until(self, when: datetime) -> str:
        """ "in 14 minutes" / "2 minutes ago", in English like the rest of the page."""
        from babel.dates import format_timedelta

        return str(format_timedelta(when - clock.now(), add_direction=True, threshold=1.1, locale="en"))

    def iso(self, when: datetime) -> str:
        return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _decimal(amount: str | Decimal) -> Decimal:
    try:
        return amount if isinstance(amount, Decimal) else Decimal(amount)
    except InvalidOperation:
        return Decimal(0)


# --- QR codes --------------------------------------------------------------------------------


def qr_svg(data: str, label: str) -> Markup:
    """An inline SVG QR code (segno, no images), named for screen readers."""
    import segno

    svg = segno.make(data, error="m").svg_inline(
        scale=1, border=4, omitsize=True, dark="#111111", light="#ffffff", svgclass="qr-code"
    )
    named = svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    return Markup(named)  # noqa: S704 - segno's own output; the label is escaped above


# --- CSRF: double-submit token in the og_csrf cookie -------------------------------------------


@dataclass(frozen=True)
class PageArea:
    """A family of pages sharing base.html: the buyer pages under /s/, the account pages under
    /account/, the operator console under /admin. Each keeps its own double-submit CSRF token
    (`cookie`, scoped to `path`, posted as `field`), so no area's token opens another's forms."""

    cookie: str
    path: str
    samesite: Literal["lax", "strict"]
    field: str = CSRF_FIELD
    # The cookie's Secure flag: always but in the demo (account, console), or when BASE_URL is https.
    secure_unless_demo: bool = False

    def secure(self, settings: Settings) -> bool:
        return not settings.demo if self.secure_unless_demo else settings.base_url.startswith("https://")


BUYER = PageArea(CSRF_COOKIE, "/s/", "lax")


def csrf_token(request: Request, area: PageArea = BUYER) -> tuple[str, bool]:
    """The visitor's CSRF token, and whether it is new (and must be set as a cookie)."""
    current = request.cookies.get(area.cookie, "")
    if _CSRF_SHAPE.match(current):
        return current, False
    return secrets.token_urlsafe(32), True


def csrf_ok(request: Request, submitted: object, area: PageArea = BUYER) -> bool:
    value = request.cookies.get(area.cookie, "")
    return isinstance(submitted, str) and bool(_CSRF_SHAPE.match(value)) and same_secret(value, submitted)


# --- responses -------------------------------------------------------------------------------


def image_url(value: str | None) -> str:
    """An operator's image URL fit for an <img>: https, or a path on this site; else none."""
    value = (value or "").strip()
    if value.startswith("https://") or (value.startswith("/") and not value.startswith("//")):
        return value
    return ""


def image_origins(urls: Iterable[str]) -> tuple[str, ...]:
    """The origins the page's CSP must allow images from (the operator's image host)."""
    found = {f"https://{urlsplit(u).netloc}" for u in urls if u.startswith("https://") and urlsplit(u).netloc}
    return tuple(sorted(found))


def _source_ok(source: str) -> bool:
    return source.startswith("https://") and not any(c in source for c in " ;,'")


def content_security_policy(
    img_sources: Iterable[str] = (), extra: Mapping[str, Iterable[str]] | None = None
) -> str:
    """The site's policy, plus this page's own https origins: `img_sources` (the operator's image
    host) and `extra` by directive (a directive the base policy lacks is added, e.g. frame-src)."""
    wanted: dict[str, list[str]] = {"img-src": [s for s in img_sources if _source_ok(s)]}
    for directive, sources in (extra or {}).items():
        wanted.setdefault(directive, []).extend(s for s in sources if _source_ok(s))
    directives = [d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; ")]
    present = {name for name, _ in directives}
    policy = [" ".join([name, value, *wanted.get(name, ())]) for name, value in directives]
    policy += [" ".join([name, *srcs]) for name, srcs in wanted.items() if name not in present and srcs]
    return "; ".join(policy)


def render(
    request: Request,
    settings: Settings,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    noindex: bool = False,
    area: PageArea = BUYER,
    img_sources: Iterable[str] = (),
    csp_extra: Mapping[str, Iterable[str]] | None = None,
) -> HTMLResponse:
    """A page with its security headers and its area's CSRF token (a cookie when the visitor had none)."""
    token, new = csrf_token(request, area)
    html = (
        _environment()
        .get_template(template)
        .render(**context, csrf_field=area.field, csrf_token=token, noindex=noindex)
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = content_security_policy(img_sources, csp_extra)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    if noindex:
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if new:
        response.set_cookie(
            area.cookie,
            token,
            path=area.path,
            httponly=True,
            samesite=area.samesite,
            secure=area.secure(settings),
        )
    return response
