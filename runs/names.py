"""Friendly random names for flow runs (``crimson-tortoise``), as Prefect gives them."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "amber azure bold brave bright brisk calm clever cobalt crimson daring eager emerald fancy "
    "fearless gentle golden grand happy honest jolly keen lively lucky magic mellow merry mighty "
    "nimble noble olive proud quick quiet rapid rosy ruby scarlet shiny silver smart snappy "
    "solid spry steady sturdy sunny swift tidy turquoise vivid warm wise witty zesty"
).split()
_ANIMALS = (
    "albatross alpaca badger beaver bison buffalo camel cheetah condor coyote crane dingo "
    "dolphin eagle falcon ferret finch fox gazelle gecko gibbon heron hippo ibis jackal jaguar "
    "koala lemur leopard lynx marmot meerkat mink moose narwhal ocelot orca otter owl panda "
    "panther pelican penguin puffin quail rabbit raven seal shark sloth stork swan tapir tiger "
    "toucan turtle walrus weasel wolf wombat yak zebra"
).split()


def random_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_ANIMALS)}"
