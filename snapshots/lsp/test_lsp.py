"""`sparkc lsp` end to end, driven by a real LSP client (pytest-lsp) on the bundled examples:
diagnostics on open, on a change that introduces an error and on its fix; hover with the
preview of the generated files; definition; references; completion; rename (and its
refusals); quick fixes; formatting; symbols; and a server that answers an unknown request
with an error and goes on.

Run by scripts/test (SPARKC is the binary under test)."""

import os
import pathlib
import shutil
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPARKC = os.environ.get("SPARKC", str(ROOT / "target" / "debug" / "sparkc"))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> pathlib.Path:
    """A copy of examples/m300: the server only reads it, but a copy keeps the tree clean
    whatever happens."""
    dest = tmp_path_factory.mktemp("lsp") / "m300"
    shutil.copytree(ROOT / "examples" / "m300", dest)
    return dest


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[SPARKC, "lsp"]))
async def client(lsp_client: LanguageClient, project: pathlib.Path):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="m300")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def uri(project: pathlib.Path, name: str) -> str:
    return (project / name).as_uri()


def open_doc(client: LanguageClient, project: pathlib.Path, name: str, text: str | None = None) -> str:
    u = uri(project, name)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=u,
                language_id="spark",
                version=1,
                text=(project / name).read_text() if text is None else text,
            )
        )
    )
    return u


def position_of(text: str, needle: str, skip: int = 0, delta: int = 0) -> types.Position:
    """The position of the `skip`-th occurrence of needle (plus `delta` characters)."""
    at = -1
    for _ in range(skip + 1):
        at = text.index(needle, at + 1)
    at += delta
    line = text.count("\n", 0, at)
    col = at - (text.rfind("\n", 0, at) + 1)
    return types.Position(line=line, character=col)


def labels(result) -> set[str]:
    """The labels of a completion answer (a list or a CompletionList)."""
    items = result.items if hasattr(result, "items") else result
    return {i.label for i in items}


async def diagnostics_for(client: LanguageClient, u: str, want) -> list[types.Diagnostic]:
    """Wait (bounded) until the diagnostics published for `u` satisfy `want`."""
    for _ in range(50):
        if u in client.diagnostics and want(client.diagnostics[u]):
            return client.diagnostics[u]
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    raise AssertionError(f"no diagnostics as wanted for {u}: {client.diagnostics.get(u)}")


async def test_diagnostics_follow_an_error_and_its_fix(client: LanguageClient, project):
    main = open_doc(client, project, "main.spark")
    open_doc(client, project, "monitoring.spark")
    diags = await diagnostics_for(client, main, lambda d: True)
    assert [d for d in diags if d.severity == types.DiagnosticSeverity.Error] == []

    text = (project / "main.spark").read_text()
    at = position_of(text, "service db on m300", delta=len("service db on "))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=main, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=at, end=types.Position(line=at.line, character=at.character + 4)),
                    text="m301",
                )
            ],
        )
    )
    diags = await diagnostics_for(client, main, lambda d: any(x.code == "E0101" for x in d))
    err = next(x for x in diags if x.code == "E0101")
    assert "m301" in err.message
    assert err.range.start == at
    assert err.source == "sparkc"
    assert "did you mean `m300`" in err.message

    # The quick fix the help suggests.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            range=err.range,
            context=types.CodeActionContext(diagnostics=[err]),
        )
    )
    assert actions and actions[0].title == "Change to `m300`"
    assert actions[0].edit.changes[main][0].new_text == "m300"

    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=main, version=3),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    await diagnostics_for(client, main, lambda d: not any(x.code == "E0101" for x in d))


async def test_hover_shows_the_declaration_and_what_it_becomes(client: LanguageClient, project):
    text = (project / "main.spark").read_text()
    main = open_doc(client, project, "main.spark")
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "db = db", delta=len("db = ")),
        )
    )
    assert hover is not None
    value = hover.contents.value
    assert "service db on m300 = mysql(database = \"nextcloud\"" in value, value
    assert "compose/m300/docker-compose.yml" in value, value
    assert "image: \"mysql:" in value, value
    # A secret is shown as its reference (a file under /run/secrets), never a value.
    assert "MYSQL_PASSWORD_FILE: /run/secrets/db_password" in value, value

    # A field: its form and meaning from the field table.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "memory = 8GiB", delta=1),
        )
    )
    assert hover is not None and "Memory it has" in hover.contents.value

    # A domain behind Caddy: its site block.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "domain cloud.m300", delta=len("domain ")),
        )
    )
    assert hover is not None and "cloud.m300.example.org" in hover.contents.value
    assert "reverse_proxy" in hover.contents.value, hover.contents.value


async def test_definition_and_references_across_files(client: LanguageClient, project):
    text = (project / "main.spark").read_text()
    main = open_doc(client, project, "main.spark")
    monitoring = open_doc(client, project, "monitoring.spark")
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "password = db_password", delta=len("password = ")),
        )
    )
    assert found.uri == main
    assert found.range.start == position_of(text, "db_password from env", delta=0)

    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "host m300", delta=len("host ")),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    files = {r.uri for r in refs}
    assert main in files and monitoring in files, files
    assert len(refs) > 10

    # Into the standard library: the template's definition.
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "= mysql(", delta=2),
        )
    )
    assert found.uri.endswith("/std/apps/mysql.spark"), found.uri
    assert "template mysql" in pathlib.Path(found.uri.removeprefix("file://")).read_text()


async def test_completion(client: LanguageClient, project):
    text = (project / "main.spark").read_text() + "\nservice extra on \n"
    main = open_doc(client, project, "main.spark", text)

    got = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "service extra on ", delta=len("service extra on ")),
        )
    )
    assert "m300" in labels(got)

    got = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "  os = ", delta=0),
        )
    )
    assert {"address", "runtime", "proxy"} <= labels(got)

    got = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "runtime = compose", delta=len("runtime = ")),
        )
    )
    assert {"compose", "swarm", "kubernetes"} <= labels(got)

    got = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "s3.port.s3", delta=len("s3.port.")),
        )
    )
    assert "s3" in labels(got)


async def test_completion_of_where_a_route_goes(client: LanguageClient, project):
    text = (project / "main.spark").read_text() + "\ndomain pve.example.org -> \ndomain nas.example.org -> address(\"http://192.168.1.5\") { via =  }\n"
    main = open_doc(client, project, "main.spark", text)

    arrow = "domain pve.example.org -> "
    got = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, arrow, delta=len(arrow)),
        )
    )
    assert {"address(...)", "redirect(...)", "dashboard(...)", "cloud"} <= labels(got)
    got = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "{ via = ", delta=len("{ via = ")),
        )
    )
    assert "m300" in labels(got) and "cloud" not in labels(got)


async def test_rename_and_its_refusals(client: LanguageClient, project):
    text = (project / "main.spark").read_text()
    main = open_doc(client, project, "main.spark")
    open_doc(client, project, "monitoring.spark")
    edit = await client.text_document_rename_async(
        types.RenameParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "service cache", delta=len("service ")),
            new_name="redis-cache",
        )
    )
    edits = edit.changes[main]
    assert len(edits) >= 2, edits  # the declaration and `cache = cache`
    assert all(e.new_text == "redis-cache" for e in edits)

    with pytest.raises(Exception, match="already the name"):
        await client.text_document_rename_async(
            types.RenameParams(
                text_document=types.TextDocumentIdentifier(uri=main),
                position=position_of(text, "service cache", delta=len("service ")),
                new_name="db",
            )
        )
    with pytest.raises(Exception, match="standard library"):
        await client.text_document_rename_async(
            types.RenameParams(
                text_document=types.TextDocumentIdentifier(uri=main),
                position=position_of(text, "= mysql(", delta=2),
                new_name="my_mysql",
            )
        )


async def test_formatting_symbols_and_robustness(client: LanguageClient, project):
    ugly = "host   web{address=10.0.0.1\nruntime=compose}\n"
    u = open_doc(client, project, "scratch.spark", ugly)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=u),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    assert edits[0].new_text == "host web {\n  address = 10.0.0.1\n  runtime = compose\n}\n"

    main = open_doc(client, project, "main.spark")
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=main))
    )
    names = {s.name for s in symbols}
    assert {"m300", "db", "cloud", "cloud.m300.example.org"} <= names

    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="clou"))
    assert any(s.name == "cloud" for s in found)

    # An unknown request gets an error answer; the server goes on.
    with pytest.raises(Exception):
        await client.protocol.send_request_async("sparkc/noSuchThing", {})
    # Garbage in a buffer: diagnostics, no crash.
    open_doc(client, project, "garbage.spark", "host {{{ \x00 \"unterminated\n service")
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=types.Position(line=0, character=0),
        )
    )
    assert hover is None or hover.contents is not None


async def test_semantic_tokens_and_inlay_hints(client: LanguageClient, project):
    text = (project / "main.spark").read_text()
    main = open_doc(client, project, "main.spark")
    await diagnostics_for(client, main, lambda d: True)
    tokens = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(uri=main))
    )
    data = tokens.data
    assert len(data) % 5 == 0 and len(data) > 50
    # Decode: (line, start, length, type index).
    decoded, line, col = [], 0, 0
    for i in range(0, len(data), 5):
        dl, ds, length, typ = data[i], data[i + 1], data[i + 2], data[i + 3]
        line += dl
        col = ds if dl else col + ds
        decoded.append((line, col, length, typ))
    lines = text.split("\n")
    words = {lines[l][c : c + n]: t for (l, c, n, t) in decoded}
    # The legend's order: keyword, comment, string, number, property, namespace, class, ...
    assert words["host"] == 0 and words["service"] == 0
    assert words["m300"] == 5  # a host: namespace
    assert words["cloud"] == 6  # a service: class
    assert words["\"nextcloud\""] == 2
    assert words["8GiB"] == 3
    assert words["memory"] == 4
    assert any(t == 1 for (_, _, _, t) in decoded)  # comments

    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=len(lines), character=0)),
        )
    )
    labels = [h.label for h in hints]
    # `s3.port.s3` resolves to Garage's S3 port; `caddy()` keeps its defaults.
    assert ": 3900" in labels, labels
    assert any("version = " in l for l in labels), labels


async def test_a_quick_fix_adds_the_missing_import(client: LanguageClient, project):
    text = (project / "main.spark").read_text() + "\nservice pg on m300 = postgres(password = db_password)\n"
    main = open_doc(client, project, "main.spark", text)
    diags = await diagnostics_for(client, main, lambda d: any("postgres" in x.message for x in d))
    err = next(x for x in diags if "cannot find template `postgres`" in x.message)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            range=err.range,
            context=types.CodeActionContext(diagnostics=[err]),
        )
    )
    assert actions[0].title == "Import `postgres` from `std.apps`"
    edit = actions[0].edit.changes[main][0]
    assert edit.new_text == ", postgres"
    # Inserted at the end of the file's `import std.apps.{...}` list.
    first_import = text.split("\n")[edit.range.start.line]
    assert first_import.startswith("import std.apps.{")
    assert edit.range.start.character == len(first_import) - 1


async def test_a_file_nothing_imports_gets_its_diagnostics(client: LanguageClient, project):
    open_doc(client, project, "main.spark")
    u = open_doc(client, project, "loose.spark", "service lonely on nowhere {\n  image = \"nginx:1\"\n}\n")
    diags = await diagnostics_for(client, u, lambda d: len(d) > 0)
    assert any(x.code == "E0101" and "nowhere" in x.message for x in diags), diags


async def test_ports_and_template_parameters(client: LanguageClient, project):
    extra = (
        "\ntemplate site(img: string, p: int = 80) = service {\n  image = img\n  port { http = p }\n}\n"
        "service mysite on m300 = site(img = \"nginx:1\", p = 8080)\n"
        "service plain on m300 {\n  image = \"nginx:1\"\n  port { web = 80 }\n}\n"
        "domain site.m300.example.org -> mysite.port.http\n"
        "domain plain.m300.example.org -> plain.port.web\n"
    )
    text = (project / "main.spark").read_text() + extra
    main = open_doc(client, project, "main.spark", text)
    await diagnostics_for(client, main, lambda d: True)
    doc = types.TextDocumentIdentifier(uri=main)

    # A template parameter: its declaration, its use in the body, and `p = ` at the call.
    edit = await client.text_document_rename_async(
        types.RenameParams(
            text_document=doc,
            position=position_of(text, "p: int", delta=0),
            new_name="listen",
        )
    )
    assert len(edit.changes[main]) == 3, edit.changes[main]

    # A port the service declares: its key and `plain.port.web`.
    edit = await client.text_document_rename_async(
        types.RenameParams(
            text_document=doc,
            position=position_of(text, "plain.port.web", delta=len("plain.port.")),
            new_name="www",
        )
    )
    assert len(edit.changes[main]) == 2, edit.changes[main]
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc,
            position=position_of(text, "port { web", delta=len("port { ")),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert len(refs) == 2, refs

    # A port a stdlib template declares: definition into it, rename refused.
    found = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc, position=position_of(text, "s3.port.s3", delta=len("s3.port.")))
    )
    assert found.uri.endswith("/std/apps/garage.spark"), found
    with pytest.raises(Exception, match="standard library"):
        await client.text_document_rename_async(
            types.RenameParams(
                text_document=doc,
                position=position_of(text, "s3.port.s3", delta=len("s3.port.")),
                new_name="api",
            )
        )
    # A port the service's own template declares: renaming it there, not here.
    with pytest.raises(Exception, match="rename it there"):
        await client.text_document_rename_async(
            types.RenameParams(
                text_document=doc,
                position=position_of(text, "mysite.port.http", delta=len("mysite.port.")),
                new_name="web",
            )
        )


async def test_a_quick_fix_puts_a_service_on_the_missing_network(client: LanguageClient, project):
    text = (project / "main.spark").read_text() + (
        "\nnetwork back on m300\n"
        "service isolated on m300 {\n  image = \"nginx:1\"\n  port { http = 80 }\n  networks = [back]\n}\n"
        "domain isolated.m300.example.org -> isolated.port.http\n"
    )
    main = open_doc(client, project, "main.spark", text)
    diags = await diagnostics_for(client, main, lambda d: any(x.code == "E0311" for x in d))
    err = next(x for x in diags if x.code == "E0311")
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            range=err.range,
            context=types.CodeActionContext(diagnostics=[err]),
        )
    )
    assert actions, err
    assert actions[0].title == "Put `proxy` on `back, default`", actions[0].title
    edit = actions[0].edit.changes[main][0]
    # The proxy (`service proxy on m300 = caddy()`, no body) gets one with the networks.
    assert edit.new_text == " {\n  networks = [back, default]\n}", edit
    line = text.split("\n")[edit.range.start.line]
    assert line.startswith("service proxy on m300 = caddy()"), line
    assert edit.range.start.character == len(line)


async def test_template_arguments_hover_and_completion(client: LanguageClient, project):
    text = (project / "main.spark").read_text() + "\nservice cache2 on m300 = redis(\n"
    main = open_doc(client, project, "main.spark", text)
    await diagnostics_for(client, main, lambda d: True)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "maxmemory = 256MiB", delta=2),
        )
    )
    assert hover is not None and "parameter of `redis`" in hover.contents.value, hover
    got = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "service cache2 on m300 = redis(", delta=len("service cache2 on m300 = redis(")),
        )
    )
    items = got.items if hasattr(got, "items") else got
    labels = {i.label for i in items}
    assert "maxmemory" in labels, labels


async def test_template_completion_carries_the_templates_docs(client: LanguageClient, project):
    text = (project / "main.spark").read_text() + "\nservice extra on m300 = \n"
    main = open_doc(client, project, "main.spark", text)
    got = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=main),
            position=position_of(text, "service extra on m300 = ", delta=len("service extra on m300 = ")),
        )
    )
    items = {i.label: i for i in (got.items if hasattr(got, "items") else got)}
    # Imported (mysql) and not imported (postgres) stdlib templates, each with its doc.
    for name in ("mysql", "postgres"):
        assert name in items, sorted(items)
        doc = items[name].documentation
        assert doc is not None and len(doc.value) > 20, (name, doc)
    # Choosing one that is not imported adds it to the file's `import std.apps.{...}`.
    extra = items["postgres"].additional_text_edits
    assert extra and extra[0].new_text == ", postgres", extra
    assert text.split("\n")[extra[0].range.start.line].startswith("import std.apps.{")
    assert not items["mysql"].additional_text_edits

