from capsule import task


@task(name="main", compute="LOW", ram="64MB", timeout="10s")
def main(input: dict) -> dict:
    """The Python step: shouts what the TypeScript step said."""
    return {"shout": input["greeting"].upper()}
