# Drives the emulator's FASHN API with FASHN's official Python SDK (fashn 0.9.0), unchanged, as a shop's integration would.
#
# Run by scripts/fashn-sdk-check.sh, which starts the emulator and passes its address in
# FASHN_BASE_URL and a key it accepts in FASHN_API_KEY: the two variables the SDK itself
# reads, so the client below is built exactly as FASHN's docs show. Every check prints what
# it checked; any mismatch exits non-zero.

import base64
import os
import struct
import sys
import zlib

import httpx
from fashn import AuthenticationError, Fashn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(REPO_ROOT, "www", "samples")
EXPECTED_SIZE = (864, 1296)
# The emulator's predictions take 5-14 s times its time scale, so a short interval keeps
# the check quick; the SDK's default of 1 s would also work, only slower.
POLL_INTERVAL_MS = 50

failures = []


def check(what, ok, detail=""):
    """Records one check and prints its outcome, so that the log shows everything checked."""
    print(f"  {'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(what)


def data_url(path, mime):
    with open(path, "rb") as f:
        return f"data:{mime};base64,{base64.b64encode(f.read()).decode()}"


def plain_wall_png(width=300, height=450):
    """A plain grey PNG, written by hand so the check needs no imaging package: a picture in
    which the emulator's person rule finds nobody, so FASHN's pose check fails."""
    row = b"\x00" + b"\x80\x80\x80" * width
    raw = zlib.compress(row * height)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


def png_size(data):
    """The width and height of PNG bytes, or None when they are not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def image_bytes(output):
    """The bytes of one output: decoded from a data URL, or downloaded from a URL."""
    if output.startswith("data:"):
        head, _, payload = output.partition(",")
        if head != "data:image/png;base64":
            raise ValueError(f"unexpected data URL head {head!r}")
        return base64.b64decode(payload)
    response = httpx.get(output, timeout=30)
    response.raise_for_status()
    return response.content


def main():
    base_url = os.environ["FASHN_BASE_URL"]
    print(f"FASHN SDK against {base_url}")
    # Built as the docs show: the key and base URL come from FASHN_API_KEY and FASHN_BASE_URL.
    client = Fashn()
    person = data_url(os.path.join(SAMPLES, "person-1.jpg"), "image/jpeg")
    garment = data_url(os.path.join(SAMPLES, "top-tee.png"), "image/png")

    # 1. subscribe runs a prediction to completion; the output is a 864x1296 PNG, both as
    #    base64 and as a URL of the emulator's result files.
    for return_base64 in (True, False):
        updates = []
        result = client.predictions.subscribe(
            model_name="tryon-v1.6",
            inputs={
                "model_image": person,
                "garment_image": garment,
                "category": "tops",
                "mode": "performance",
                "return_base64": return_base64,
            },
            poll_interval=POLL_INTERVAL_MS,
            on_queue_update=lambda status: updates.append(status.status),
        )
        kind = "base64" if return_base64 else "URL"
        check(f"subscribe ({kind} output) ends completed", result.status == "completed", repr(result))
        check(f"subscribe ({kind} output) has no error", result.error is None, repr(result.error))
        check(f"subscribe ({kind} output) reports 1 credit used", result.credits_used == 1, repr(result.credits_used))
        check(
            f"subscribe ({kind} output) saw only FASHN's states",
            set(updates) <= {"starting", "in_queue", "processing", "completed"} and updates[-1] == "completed",
            repr(updates),
        )
        outputs = result.output or []
        check(f"subscribe ({kind} output) returns one image", len(outputs) == 1, repr(outputs)[:200])
        if outputs:
            if not return_base64:
                check("the output is an http URL", outputs[0].startswith("http"), outputs[0][:80])
            size = png_size(image_bytes(outputs[0]))
            check(f"the {kind} output is a {EXPECTED_SIZE[0]}x{EXPECTED_SIZE[1]} PNG", size == EXPECTED_SIZE, repr(size))

    # 2. A wrong key raises the SDK's authentication error (401 UnauthorizedAccess).
    wrong = Fashn(api_key="fa-wrong-key", base_url=base_url)
    try:
        wrong.predictions.run(model_name="tryon-v1.6", inputs={"model_image": person, "garment_image": garment})
    except AuthenticationError as error:
        body = error.body if isinstance(error.body, dict) else {}
        check("a wrong key raises AuthenticationError (401)", error.status_code == 401, repr(error.status_code))
        check("the 401 body names UnauthorizedAccess", body.get("error") == "UnauthorizedAccess", repr(error.body))
    except Exception as error:  # noqa: BLE001 - any other exception is the mismatch reported here.
        check("a wrong key raises AuthenticationError (401)", False, f"{type(error).__name__}: {error}")
    else:
        check("a wrong key raises AuthenticationError (401)", False, "no exception")

    # 3. A person photo without a person fails the prediction; subscribe surfaces it as a
    #    failed result carrying the runtime error's name (the SDK returns it, not raises).
    result = client.predictions.subscribe(
        model_name="tryon-v1.6",
        inputs={"model_image": plain_wall_png(), "garment_image": garment, "mode": "performance"},
        poll_interval=POLL_INTERVAL_MS,
    )
    check("a photo without a person ends failed", result.status == "failed", repr(result))
    name = result.error.name if result.error else None
    check("the failure is the runtime error PoseError", name == "PoseError", repr(result.error))
    check("a failed prediction reports 0 credits used", result.credits_used == 0, repr(result.credits_used))

    # 4. An image the service cannot load fails with ImageLoadError.
    result = client.predictions.subscribe(
        model_name="tryon-v1.6",
        inputs={"model_image": "data:image/png;base64,bm90IGFuIGltYWdl", "garment_image": garment},
        poll_interval=POLL_INTERVAL_MS,
    )
    name = result.error.name if result.error else None
    check("an undecodable image fails with ImageLoadError", result.status == "failed" and name == "ImageLoadError", repr(result))

    if failures:
        print(f"FASHN SDK check: {len(failures)} mismatch(es): {', '.join(failures)}")
        return 1
    print("FASHN SDK check: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
