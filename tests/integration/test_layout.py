"""The tree's shape is a map of the program: each handler file exports only
its resource's names, every route's handler lives in the file the README
names for it, and portald links no migration text."""
import os
import re
import subprocess

from conftest import ROOT

HANDLERS = os.path.join(ROOT, "fcgi", "handlers")
# a function definition at the start of a line: "void cases_get(request_t *req)"
DEFINITION = re.compile(r"^(?!static)[a-z_][a-z0-9_ \*]*?\b([a-z_][a-z0-9_]*)\(", re.M)


def exported_functions(path):
    with open(path) as f:
        text = f.read()
    return {m.group(1) for m in DEFINITION.finditer(text)
            if not text[m.start():].startswith(("typedef", "struct", "return"))}


def test_each_handler_file_exports_only_its_resources_names():
    for name in sorted(os.listdir(HANDLERS)):
        if not name.endswith(".c"):
            continue
        prefix = name[:-2] + "_"
        foreign = {f for f in exported_functions(os.path.join(HANDLERS, name))
                   if not f.startswith(prefix)}
        assert not foreign, f"{name} exports {sorted(foreign)}, not {prefix}*"


def route_handlers():
    """(method, pattern, handler) of every row of routes.c."""
    with open(os.path.join(HANDLERS, "routes.c")) as f:
        text = f.read()
    return re.findall(r'\{"([A-Z]+)", "([^"]+)", ([a-z_]+),', text)


def readme_routes():
    """{(method, path): file} from the README's route tables. A cell lists
    routes as `GET /api/x`, `PATCH`/`DELETE /api/x/{id}`, or tails of the
    one before it (`/revisions`, `/diff`)."""
    with open(os.path.join(ROOT, "README.md")) as f:
        rows = [l for l in f if l.startswith("| `") and "`handlers/" in l]
    found = {}
    for row in rows:
        cell = row.split("|")[1]
        handler_file = re.search(r"`handlers/([a-z_]+\.c)`", row).group(1)
        pending, method, parent = [], None, None
        for token in re.findall(r"`([^`]*)`", cell):
            full = re.match(r"([A-Z]+) (/\S*)", token)
            if re.fullmatch(r"[A-Z]+", token):
                pending.append(token)
                continue
            if full:
                method, path = full.group(1), full.group(2)
                parent = path.split("[")[0].rsplit("/", 1)[0]
            elif token.startswith("/") and parent is not None:
                path = parent + token
            else:
                continue
            path = path.split("[")[0]
            for m in pending + [method]:
                found[(m, path)] = handler_file
            pending = []
    return found


def test_the_readmes_route_tables_name_each_routes_file():
    where = {}
    for handler_file in os.listdir(HANDLERS):
        if handler_file.endswith(".c"):
            for fn in exported_functions(os.path.join(HANDLERS, handler_file)):
                where[fn] = handler_file
    documented = readme_routes()
    routes = route_handlers()
    assert len(routes) > 30
    for method, pattern, handler in routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", pattern)
        assert (method, path) in documented, f"the README has no row for {method} {path}"
        assert documented[(method, path)] == where[handler], \
            f"{method} {path} is handled in {where[handler]}, the README says " \
            f"{documented[(method, path)]}"


def test_portald_links_no_migration_text():
    build = os.environ.get("PORTAL_BUILD", os.path.join(ROOT, "build", "default"))
    portald = os.path.join(build if os.path.isabs(build) else os.path.join(ROOT, build),
                           "portald")
    symbols = subprocess.run(["nm", portald], capture_output=True, text=True, check=True).stdout
    assert "migrations_files" not in symbols and "migrate_" not in symbols
    assert "sql_files" in symbols  # (the check itself can see a catalogue)
