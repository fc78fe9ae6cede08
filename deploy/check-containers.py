"""No container runs as root: a static check of the Dockerfile and compose.yaml.

    docker-compose -f compose.yaml config | python3 deploy/check-containers.py Dockerfile

Reads the resolved compose file (anchors and merges applied) on stdin and
fails, naming the service, when one:
  - has no `user`, or a root one (root, 0, 0:...);
  - is `privileged`, adds capabilities, or does not drop them all (cap_drop: [ALL]);
  - can gain privileges (no `no-new-privileges:true` in security_opt);
  - shares the host's network, PID, IPC or user namespace, or gets devices;
  - mounts the Docker socket or the host's root;
  - runs our image (built from the Dockerfile) without a read-only root file system.
And fails when the Dockerfile's final stage does not end with a non-root,
numeric USER.
"""

import re
import sys

import yaml

ROOT_USERS = {"root", "0"}


def is_root(user):
    name = str(user).split(":", 1)[0].strip()
    return name in ROOT_USERS or name == ""


def check_compose(config):
    problems = []
    services = config.get("services") or {}
    if not services:
        problems.append("compose.yaml: no services found")
    for name, service in sorted(services.items()):
        def fail(why):
            problems.append(f"compose.yaml: service {name}: {why}")

        user = service.get("user")
        if user is None:
            fail("no `user:`; name an unprivileged one (the image's default may be root)")
        elif is_root(user):
            fail(f"runs as root (user: {user})")
        if service.get("privileged"):
            fail("is privileged")
        if service.get("cap_add"):
            fail(f"adds capabilities {service['cap_add']}")
        if "ALL" not in [str(c).upper() for c in service.get("cap_drop") or []]:
            fail("does not drop every capability (cap_drop: [ALL])")
        options = [str(o).replace("=", ":").replace(" ", "") for o in service.get("security_opt") or []]
        if not any(o in ("no-new-privileges", "no-new-privileges:true") for o in options):
            fail('may gain privileges (security_opt: ["no-new-privileges:true"])')
        for key in ("network_mode", "pid", "ipc", "userns_mode"):
            if str(service.get(key, "")).strip() == "host":
                fail(f"{key}: host")
        if service.get("devices"):
            fail("gets host devices")
        for volume in service.get("volumes") or []:
            source = volume.get("source", "") if isinstance(volume, dict) else str(volume).split(":", 1)[0]
            if "docker.sock" in str(source) or str(source).rstrip("/") == "":
                fail(f"mounts {source or '/'} from the host")
        ours = "build" in service or str(service.get("image", "")).split(":", 1)[0] == "supermarket"
        if ours and not service.get("read_only"):
            fail("runs our image without read_only: true")
    return problems


def check_dockerfile(path):
    problems = []
    stage_user = None
    stages = 0
    with open(path, encoding="utf-8") as dockerfile:
        # Continuation lines joined; comments dropped.
        text = re.sub(r"\\\n", " ", dockerfile.read())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages += 1
            stage_user = None
        elif instruction == "USER":
            stage_user = argument.strip()
    if stages == 0:
        problems.append(f"{path}: no FROM")
    elif stage_user is None:
        problems.append(f"{path}: the final stage has no USER, so the image runs as root")
    elif is_root(stage_user):
        problems.append(f"{path}: the final stage runs as root (USER {stage_user})")
    elif not re.fullmatch(r"[0-9]+(:[0-9]+)?", stage_user):
        problems.append(f"{path}: USER {stage_user}: use a numeric uid[:gid] so runtimes can verify it is not root")
    return problems


def main():
    dockerfile = sys.argv[1] if len(sys.argv) > 1 else "Dockerfile"
    problems = check_compose(yaml.safe_load(sys.stdin) or {}) + check_dockerfile(dockerfile)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} container hardening problem(s)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
