"""Built-in fbn-bench plugins, found through the `fbn_bench` entry-point group like any third-party plugin."""
