"""Two browser sessions on one server never see each other's data."""

import pytest

from tests.e2e.conftest import shot, wait_idle

pytestmark = pytest.mark.e2e

SECRET_CSV = ("secret_patient_id,prediction_ts,blood_pressure,prediction,label\n" + "".join(
    f"p{i:04d},2026-10-{1 + i % 28:02d}T00:00:00Z,{100 + i % 40},{i % 2},{(i // 3) % 2}\n" for i in range(300)))


def test_sessions_are_isolated(browser, app_url, tmp_path):
    path = tmp_path / "alice_private.csv"
    path.write_text(SECRET_CSV)
    alice = browser.new_context(viewport={"width": 1400, "height": 1000})
    bob = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        a = alice.new_page()
        a.set_default_timeout(90_000)
        a.goto(app_url)
        wait_idle(a)
        a.get_by_text("Bundled sample loaded").wait_for()
        a.locator('[data-testid="stFileUploader"]').nth(1).locator('input[type="file"]').set_input_files(str(path))
        wait_idle(a)
        a.get_by_role("button", name="Load these files").click()
        a.get_by_text("alice_private.csv").first.wait_for()
        wait_idle(a)
        a.get_by_role("button", name="Confirm schema").click()
        a.get_by_text("Schema confirmed").first.wait_for()
        wait_idle(a)
        assert "300" in a.locator('[data-testid="stMetric"]').first.inner_text()

        b = bob.new_page()
        b.set_default_timeout(90_000)
        b.goto(app_url)
        wait_idle(b)
        b.get_by_text("Bundled sample loaded").wait_for()
        body = b.locator("body").inner_text()
        assert "alice_private" not in body and "secret_patient_id" not in body and "blood_pressure" not in body
        assert "6,000" in b.locator('[data-testid="stMetric"]').first.inner_text()
        shot(b, "isolation_other_session")
        # Alice's session still shows her own data (and only hers) after Bob's session started.
        a.get_by_role("button", name="Confirm schema").click()
        wait_idle(a)
        text = a.locator("body").inner_text()
        assert "alice_private.csv" in text and "6,000" not in a.locator('[data-testid="stMetric"]').first.inner_text()
    finally:
        alice.close()
        bob.close()
