"""Building and training the bundled judge: the logic behind ``mlb judge build|pretrain|train|calibrate|sft``.

It lives in the package (not in scripts that edit ``sys.path``) so that the commands and the tests
import it like any other module. torch, transformers and peft (the ``judge`` extra) load only
inside the functions that train, so the plugin and ``mlb --help`` never need them.
"""
