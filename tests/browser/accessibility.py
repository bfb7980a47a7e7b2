"""axe-core (axe-playwright-python) on a page the browser tests visit: its serious and critical violations."""

from axe_playwright_python.sync_playwright import Axe

AXE = Axe()


def accessibility_problems(page, name: str) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each, naming up to three elements."""
    found = AXE.run(page).response["violations"]
    return [f"{name}: axe {violation['id']} ({violation['impact']}): {violation['help']} — "
            f"{', '.join(str(node['target']) for node in violation['nodes'][:3])}"
            for violation in found if violation["impact"] in ("serious", "critical")]
