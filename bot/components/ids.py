"""The custom_id grammar shared by every button: `imagine:<action>:<job public id>[:<more>]`."""

JOB_ID = r"(?P<job>[A-Za-z0-9_-]{1,40})"
INDEX = r"(?P<index>[1-9][0-9]?)"
MAX_CUSTOM_ID = 100


def custom_id(*parts: object) -> str:
    value = ":".join(["imagine", *map(str, parts)])
    if len(value) > MAX_CUSTOM_ID:
        raise ValueError(f"custom_id {value!r} is longer than Discord's {MAX_CUSTOM_ID} characters")
    return value
