# Stage 6: the results table, this run's errors beside the paper's (CSV and Markdown).


rule table:
    input:
        expand(METRICS, model=config["models"]),
    output:
        csv=report(
            f"{RUN}/tables/results.csv",
            caption="../report/table.rst",
            category="Results table",
            labels={"table": "test error vs. the paper"},
        ),
        md=f"{RUN}/tables/results.md",
    log:
        f"{LOGS}/table.log",
    benchmark:
        f"{BENCHMARKS}/table.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=" ".join(config["models"]),
    shell:
        "landscape table --metrics {input} --models {params.models}"
        " --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"
