# Stage 6: the results table, this run's errors beside the paper's (CSV, Markdown and the
# HTML page the report shows inline), and how each surface was computed.


rule table:
    input:
        all_metrics(),
    output:
        csv=TABLE.replace("{ext}", "csv"),
        md=TABLE.replace("{ext}", "md"),
        html=in_report(
            TABLE.replace("{ext}", "html"), "table", "table", {"table": "test error vs. the paper"}
        ),
    log:
        f"{LOGS}/table.log",
    benchmark:
        f"{BENCHMARKS}/table.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=model_names(),
    shell:
        "landscape table --metrics {input} --models {params.models}"
        " --out-csv {output.csv} --out-md {output.md} --out-html {output.html} > {log} 2>&1"


# Per-surface provenance: grid, data, precision, device and time of every surface and curve,
# read from the attributes each sweep recorded.
rule provenance:
    input:
        all_surfaces(),
    output:
        csv=PROVENANCE.replace("{ext}", "csv"),
        html=in_report(
            PROVENANCE.replace("{ext}", "html"),
            "provenance",
            "provenance",
            {"table": "grid, data, precision, device, time per surface"},
        ),
    log:
        f"{LOGS}/provenance.log",
    benchmark:
        f"{BENCHMARKS}/provenance.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=" ".join(config["models"] * 2),
    shell:
        "landscape provenance --surfaces {input} --models {params.models}"
        " --out-csv {output.csv} --out-html {output.html} > {log} 2>&1"
