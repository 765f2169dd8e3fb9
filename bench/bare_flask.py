"""The baseline for bench/webhook.py: a Flask view that answers ``success`` and does nothing else."""

from flask import Flask

app = Flask("bare")


@app.post("/wechat")
def wechat() -> str:
    return "success"
