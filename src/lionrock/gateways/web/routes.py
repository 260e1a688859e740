"""Dashboard routes: server-rendered pages (Jinja2) that update live from the API's WebSockets.

No CDN: the only scripts are ``/static/lionrock.js`` (ours, a few fetch and WebSocket helpers)
and Plotly's bundled JS, served from the installed ``plotly`` package
(`plotly.offline.get_plotlyjs`). Pages need a signed-in session; reads go through the same
tenancy-checked queries as the REST API.

One write path: every button and form on these pages calls the REST API from the browser
(``LR.api``: ``POST /v1/offerings``, ``…/iois``, ``…/close``, ``…/price``, ``…/allocate``, ``…/settle``,
``POST /v1/orders``, ``POST /v1/users``, ``POST /v1/commands``, ``POST /v1/venue/clock``) with the
session cookie, so the same role, tenancy and rule checks decide and the same rejection comes
back; no route here changes anything but the session. Pages are drawn for the caller's role
(a sponsor's offering shows the lifecycle actions), but a hidden button is a courtesy, never the
check. The allocation preview is a read (``GET …/allocation-preview``), computed on demand by the
same endpoint. Numbers go through `formatting` (money, shares, percentages for people).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from lionrock.gateways.rest.http import identify
from lionrock.gateways.rest.models import IoiIn, body_schema
from lionrock.gateways.rest.venue import instrument_rules, venue_state
from lionrock.gateways.web import formatting
from lionrock.kernel.ids import ORDER_ID_MAX
from lionrock.kernel.price import MAX_PRICE_TICKS, format_price
from lionrock.kernel.xhkg import hk_date
from lionrock.readmodel import queries
from lionrock.readmodel.tenancy import NotVisible, Principal, Role
from lionrock.service.auth import SESSION_COOKIE, AuthError, LoginThrottled
from lionrock.service.root import Service

_HERE = Path(__file__).parent
_ENV = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html", "j2"]))
_ENV.filters["price"] = lambda t: format_price(int(t)) if t else ""
_ENV.filters.update(formatting.FILTERS)
_ENV.filters["tojson_safe"] = lambda v: Markup(json.dumps(v).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
"""JSON for a <script> block (no HTML escaping, but no '<', '>' or '&' either)."""
_ENV.filters["tojson_text"] = lambda v: json.dumps(v)
"""JSON shown as text in HTML (autoescaped)."""


IOI_SCHEMA = body_schema(IoiIn)
"""The IOI entry form checks what ``POST /v1/offerings/{id}/iois`` checks, from the same model's
JSON schema (the Struct's: identifiers, share bounds, tier, steps, origins; ``LR.schemaProblems``), and the price
format of `lionrock.kernel.price.parse_price` (``LR.priceProblem``)."""


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def mount_web(app: FastAPI, service: Service) -> None:
    cache: dict[str, str] = {}

    def who(request: Request) -> Principal | None:
        """The caller (`http.identify`, as for REST and the WebSockets); None sends it to /login."""
        try:
            return identify(request)
        except AuthError:
            return None

    def page(name: str, request: Request, p: Principal, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(_ENV.get_template(name).render(user=p, request=request, **ctx))

    @app.get("/static/plotly.js", include_in_schema=False)
    def plotly_js() -> Response:
        if "plotly" not in cache:
            cache["plotly"] = _plotly_js()
        return Response(cache["plotly"], media_type="application/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        path = _HERE / "static" / name
        if name not in ("lionrock.js", "style.css") or not path.exists():
            return Response(status_code=404)
        media = "application/javascript" if name.endswith(".js") else "text/css"
        return Response(path.read_text(), media_type=media)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, error: str = "") -> HTMLResponse:
        return HTMLResponse(_ENV.get_template("login.html.j2").render(error=error, user=None))

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: str = Form(...), password: str = Form(...)) -> Response:
        address = request.client.host if request.client else ""
        try:
            p = service.auth.verify_password(username, password, address=address)
        except LoginThrottled as exc:  # the REST sign-in's throttle (docs/service.md, Limits)
            service.auth.audit(username, "", "web", "login", address, "throttled", str(exc))
            return RedirectResponse(f"/login?error=Too+many+failed+sign-ins:+try+again+in+{exc.retry_after_s}+s", status_code=303)
        except AuthError:
            service.auth.audit(username, "", "web", "login", "", "failed", "")
            return RedirectResponse("/login?error=Unknown+user+or+wrong+password", status_code=303)
        service.auth.audit(p.username, str(p.role), "web", "login", "", "ok")
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(
            SESSION_COOKIE, service.auth.issue_session(p.username), httponly=True, samesite="strict", max_age=service.auth.session_ttl_s
        )
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        p = who(request)
        if p is not None:  # revoke server-side: a copied cookie stops working too
            service.auth.revoke_sessions(p.username)
            service.auth.audit(p.username, str(p.role), "web", "logout", "", "ok")
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        p = who(request)
        if p is None:
            return RedirectResponse("/login", status_code=303)
        return page(
            "home.html.j2",
            request,
            p,
            issuers=_pipeline(service, p),
            offerings=queries.offerings(service.read, p),
            instruments=queries.instruments(service.read),
            quota=_quota(service),
        )

    @app.get("/market/{instrument}", include_in_schema=False)
    def market(instrument: str, request: Request) -> Response:
        p = who(request)
        if p is None:
            return RedirectResponse("/login", status_code=303)
        return page(
            "market.html.j2",
            request,
            p,
            instrument=instrument,
            depth=queries.depth(service.read, instrument, 10),
            trades=queries.trades(service.read, instrument, 30),
            orders=queries.orders(service.read, p, instrument=instrument, limit=50),
            rules=_rules_or_none(service, instrument),
        )

    @app.get("/offerings/new", include_in_schema=False)
    def new_offering(request: Request) -> Response:
        p = who(request)
        if p is None:
            return RedirectResponse("/login", status_code=303)
        return page("offering_new.html.j2", request, p, may_define=p.role in (Role.SPONSOR, Role.OPERATOR))

    @app.get("/offerings/{offering_id}", include_in_schema=False)
    def offering(offering_id: str, request: Request) -> Response:
        p = who(request)
        if p is None:
            return RedirectResponse("/login", status_code=303)
        try:
            data = queries.offering(service.read, p, offering_id)
            results = queries.offering_results(service.read, p, offering_id)
        except NotVisible as exc:
            return page("missing.html.j2", request, p, message=exc.message)
        allocations = queries.allocations_for(service.read, p, offering_id) if results["summary"] is not None else None
        comparison = _comparison_or_none(service, p, offering_id) if results["summary"] is not None and data["scope"] == "full" else None
        priced = results["priced"]
        curve = priced_curve(priced) if priced else demand_curve(data["events"])
        return page(
            "offering.html.j2",
            request,
            p,
            offering_id=offering_id,
            data=data,
            curve=curve,
            results=results,
            allocations=allocations,
            offer_price=priced["price"] if priced else 0,
            iois=ioi_rows(data["events"]),
            may_run=p.role == Role.OPERATOR or (p.role == Role.SPONSOR and offering_id in p.offerings),
            today=hk_date(service.clock()).isoformat(),
            comparison=comparison,
            seed_max=ORDER_ID_MAX,
            ioi_schema=IOI_SCHEMA,
            max_price_ticks=MAX_PRICE_TICKS,
            curve_basis="the book at pricing (OfferPriceFixed)" if priced else "indications of interest received so far",
        )

    @app.get("/account", include_in_schema=False)
    def account(request: Request) -> Response:
        p = who(request)
        if p is None:
            return RedirectResponse("/login", status_code=303)
        return page(
            "account.html.j2",
            request,
            p,
            accounts=queries.accounts(service.read, p),
            orders=queries.orders(service.read, p, limit=100),
            ipo=_ipo_results(service, p),
        )

    @app.get("/operator", include_in_schema=False)
    def operator(request: Request) -> Response:
        p = who(request)
        if p is None:
            return RedirectResponse("/login", status_code=303)
        if p.role not in (Role.OPERATOR, Role.REGULATOR):
            return page("missing.html.j2", request, p, message="The venue page is for operators (and, to read, regulators).")
        return page(
            "operator.html.j2",
            request,
            p,
            venue=venue_state(service),
            users=[u.public() for u in service.auth.users()],
            may_act=p.role == Role.OPERATOR,
            roles=[str(r) for r in Role],
        )


def _rules_or_none(service: Service, instrument: str) -> dict[str, Any] | None:
    """The order ticket's rules for a listed instrument (`rest.venue.instrument_rules`), None if not listed."""
    from lionrock.gateways.rest.http import ApiError

    try:
        return instrument_rules(service, instrument, hk_date(service.clock()))
    except ApiError:
        return None


def _comparison_or_none(service: Service, p: Principal, offering_id: str) -> dict[str, Any] | None:
    """The mechanism comparison the projector derived at allocation (full scope), None if there is none."""
    try:
        return queries.offering_comparison(service.read, p, offering_id)
    except NotVisible:
        return None


def _ipo_results(service: Service, p: Principal) -> list[dict[str, Any]]:
    """The caller's public applications and allotments, one row per offering and account: the same
    rows ``GET /v1/offerings/{id}/allocations`` gives the caller, and the stage of offerings not
    allocated yet (applications lodged, awaiting the ballot)."""
    out: list[dict[str, Any]] = []
    for o in queries.offerings(service.read, p):
        oid = o["offering_id"]
        results = queries.offering_results(service.read, p, oid)
        currency = (results["defined"] or {}).get("currency", "HKD")
        if results["summary"] is None:
            out.append({"offering_id": oid, "stage": results["stage"], "account": "", "currency": currency, "row": None})
            continue
        rows = queries.allocations_for(service.read, p, oid)["allocations"]
        if p.sees_all or p.role == Role.SPONSOR:
            rows = [r for r in rows if r["account"] in p.accounts]
        for r in rows:
            out.append({"offering_id": oid, "stage": results["stage"], "account": r["account"], "currency": currency, "row": r})
    return out


def ioi_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The live IOI book as grid rows (withdrawn IOIs dropped): investor, type, origin, tier, the
    highest and lowest price limit (0: at any price, a strike bid) and the shares at the top step
    and in all. Events are the caller's tenancy-filtered view, so an investor sees its own only."""
    book: dict[str, dict[str, Any]] = {}
    for e in events:
        body = e["event"]
        if e["type"] == "IoiReceived":
            steps = [(int(pr), int(q)) for pr, q in body.get("steps", [])]
            limits = [pr for pr, _ in steps]
            book[str(body.get("ioi_id"))] = {
                "ioi_id": body.get("ioi_id", ""),
                "investor": body.get("investor", ""),
                "investor_type": body.get("investor_type", ""),
                "origin": body.get("origin", ""),
                "tier": int(body.get("tier", 0)),
                "limit_high": 0 if 0 in limits else max(limits, default=0),
                "limit_low": 0 if 0 in limits else min(limits, default=0),
                "shares_max": max((q for _, q in steps), default=0),
                "steps": len(steps),
                "seq": e["seq"],
            }
        elif e["type"] == "IoiWithdrawn":
            book.pop(str(body.get("ioi_id")), None)
    return list(book.values())


def demand_curve(events: list[dict[str, Any]]) -> list[dict[str, int]]:
    """Price-limited demand from the IOIs visible so far: at each price, the shares of every step
    whose limit is at or above it, plus the strike (any-price) steps; steps of one IOI add up, as
    in the offering's book (`IoiBook.demand_at`)."""
    steps_by_ioi: dict[str, list[tuple[int, int]]] = {}
    for e in events:
        body = e["event"]
        if e["type"] == "IoiReceived":
            steps_by_ioi[str(body.get("ioi_id"))] = [(int(pr), int(q)) for pr, q in body.get("steps", [])]
        elif e["type"] == "IoiWithdrawn":
            steps_by_ioi.pop(str(body.get("ioi_id")), None)
    steps = [s for ss in steps_by_ioi.values() for s in ss]
    prices = sorted({pr for pr, _ in steps if pr > 0}, reverse=True)
    strike = sum(q for pr, q in steps if pr == 0)
    return [{"price": price, "shares": strike + sum(q for pr, q in steps if pr >= price), "tranche": 0} for price in prices]


def priced_curve(priced: dict[str, Any]) -> list[dict[str, int]]:
    """The bookbuilding demand and tranche at each candidate price, as the offering priced it."""
    return [{"price": int(pr), "shares": int(d), "tranche": int(t)} for pr, d, t in priced.get("demand_curve", [])]


def _pipeline(service: Service, p: Principal) -> list[dict[str, Any]]:
    return queries.issuers(service.read, p)


def _quota(service: Service) -> list[dict[str, Any]]:
    rows = service.read.execute(
        "SELECT body FROM events WHERE type IN ('SouthboundOrderAdmitted', 'SouthboundQuotaReturned', 'SouthboundQuotaExhausted') "
        "ORDER BY seq DESC, idx DESC LIMIT 200"
    )
    latest: dict[str, dict[str, Any]] = {}
    for (body,) in rows:
        e = json.loads(body)
        link = e.get("link", "")
        if link and link not in latest:
            latest[link] = {"link": link, "balance": e.get("quota_balance", e.get("balance")), "event": e.get("type")}
    return [latest[k] for k in sorted(latest)]


__all__ = ["IOI_SCHEMA", "demand_curve", "ioi_rows", "mount_web", "priced_curve"]
