"""The browser shell: navigation that follows the routes that exist, landing prices, error pages."""

from decimal import ROUND_HALF_UP, Decimal

from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from billing import selectors as billing_selectors


def _render_nav(template: str, path: str = "/") -> str:
    return Template("{% load nav %}" + template).render(Context({"request": RequestFactory().get(path)}))


def test_nav_link_renders_nothing_for_a_route_that_does_not_exist():
    assert _render_nav('{% nav_link "no_such_page_yet" "Later" %}') == ""


def test_nav_link_marks_the_current_page():
    html = _render_nav('{% nav_link "team" "Team" %}', path=reverse("team"))
    assert html == f'<a class="nav-link active" href="{reverse("team")}" aria-current="page">Team</a>'
    assert "active" not in _render_nav('{% nav_link "team" "Team" %}', path=reverse("developers"))


def test_exact_nav_link_is_not_current_below_it():
    assert "active" not in _render_nav('{% nav_link "dashboard" "Dashboard" exact=True %}', path=reverse("team"))
    assert "active" in _render_nav('{% nav_link "dashboard" "Dashboard" exact=True %}', path=reverse("dashboard"))


def test_app_shell_has_nav_switcher_and_htmx(browser_client):
    page = browser_client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("team")}"' in page and f'href="{reverse("developers")}"' in page
    assert "vendor/htmx-2.0.11.min.js" in page and 'href="#main"' in page
    assert reverse("account_logout") in page


def test_landing_prices_come_from_the_price_book(client):
    page = client.get(reverse("landing")).content.decode()
    for resolution, per_second in billing_selectors.price_list().items():
        assert f'data-testid="price-{resolution}">${per_second}<' in page
        five = (per_second * 5).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert f"${five}" in page


def test_landing_follows_a_changed_price(client):
    from billing.services import plan_default

    plan = plan_default()
    plan.price_720p = Decimal("0.5000")
    plan.save()
    page = client.get(reverse("landing")).content.decode()
    assert 'data-testid="price-720p">$0.5000<' in page and "$2.50" in page


def test_403_page_says_why(client, organization):
    from accounts.models import Role
    from tests.factories import MembershipFactory

    client.force_login(MembershipFactory(organization=organization, role=Role.MEMBER).user)
    response = client.post(reverse("team_invite"), {"email": "a@example.com", "role": "member"})
    assert response.status_code == 403
    assert "You cannot do that here" in response.content.decode()


def test_login_page_errors_sit_next_to_fields(client):
    response = client.post(reverse("account_signup"), {"email": "bad", "password1": "x", "password2": "y"})
    page = response.content.decode()
    email_block = page[page.index('<label for="id_email"') : page.index('<label for="id_password1"')]
    assert 'id="id_email_error"' in email_block and 'aria-invalid="true"' in email_block


def test_500_page_renders_without_request_or_database():
    from django.template import loader

    html = loader.get_template("500.html").render()  # Django's server_error passes no context
    assert "Something went wrong on our side" in html and "/static/css/app.css" in html


def test_nav_link_exclude_leaves_a_sibling_page_to_its_own_entry():
    # "team_invite" lives under "team": with exclude, the Team entry is not current there.
    tag = '{% nav_link "team" "Team" exclude="team_invite" %}'
    assert "active" not in _render_nav(tag, path=reverse("team_invite"))
    assert "active" in _render_nav(tag, path=reverse("member_remove", args=[1]))
    assert "active" in _render_nav('{% nav_link "team" "Team" exclude="no_such_route" %}', path=reverse("team"))
