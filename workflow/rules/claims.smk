# Stage 7: the paper's qualitative claims, each with the number that tests it on this run and
# whether it holds here (docs/claims.md), from the run's own surfaces, curves, Hessian maps,
# trajectories, interpolations and training metrics. A claim the run has no files for is
# "not measured"; one its numbers contradict "does not hold".


rule claims:
    input:
        claims_files(),
    output:
        csv=CLAIMS.replace("{ext}", "csv"),
        md=CLAIMS.replace("{ext}", "md"),
        html=in_report(
            CLAIMS.replace("{ext}", "html"),
            "claims",
            section="table",
            labels={"table": "the paper's claims on this run"},
            category=CLAIMS_PAGE,
        ),
    log:
        f"{LOGS}/claims.log",
    benchmark:
        f"{BENCHMARKS}/claims.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        arguments=claims_arguments(),
        prefix=lambda wildcards, output: output.csv.removesuffix(".csv"),
    shell:
        "landscape claims {params.arguments} --out-prefix {params.prefix} > {log} 2>&1"
