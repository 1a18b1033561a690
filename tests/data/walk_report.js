// Walks a Snakemake HTML report as a reader would: every category (experiment page), section
// and result in turn, through the report's own app, and records what the page then shows: the
// image (its natural width once loaded), the HTML frame and the rows of its table, the
// caption in the side bar. The outcome goes into <pre id="landscape-check"> as JSON.
// tests/test_workflow.py appends this script to a copy of the report and reads the DOM that
// headless Chromium dumps.
(async function () {
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const outcome = { categories: {}, results: [], error: null };

  async function show(category, section, path) {
    const entry = results[path];
    const kind = entry.mime_type === "text/html" ? "html" : "img";
    app.showResultInfo(path);  // the caption, in the side bar
    await pause(50);
    app.setView({ content: kind, contentPath: entry.data_uri, resultPath: path });
    await pause(100);
    const record = { path: path, section: section, mime: entry.mime_type };
    if (kind === "img") {
      const img = Array.from(document.querySelectorAll("img")).find((i) => i.src === entry.data_uri);
      if (img && !img.complete) await new Promise((r) => { img.onload = r; img.onerror = r; });
      record.shown = Boolean(img);
      record.width = img ? img.naturalWidth : 0;
    } else {
      const frame = Array.from(document.querySelectorAll("iframe")).find((f) => f.src === entry.data_uri);
      record.shown = Boolean(frame);
      const text = await (await fetch(entry.data_uri)).text();
      const doc = new DOMParser().parseFromString(text, "text/html");
      record.rows = Array.from(doc.querySelectorAll("tbody tr")).map(
        (tr) => Array.from(tr.children).map((td) => td.textContent));
      record.canvases = doc.querySelectorAll("canvas").length;  // an interactive 3-D page
    }
    const caption = new DOMParser().parseFromString(entry.caption, "text/html").body.innerText.trim();
    record.caption_shown = caption.length > 0 &&
      document.body.innerText.includes(caption.split("\n")[0].slice(0, 60));
    return record;
  }

  try {
    await pause(200);
    for (const category of Object.keys(categories)) {
      app.showCategory(category);
      await pause(50);
      const menu = document.body.innerText;
      outcome.categories[category] = Object.keys(categories[category]).filter((s) => menu.includes(s));
      for (const [section, paths] of Object.entries(categories[category])) {
        app.setView({ navbarMode: "subcategory", category: category, subcategory: section });
        await pause(50);
        for (const path of paths) {
          outcome.results.push(await show(category, section, path));
        }
      }
    }
  } catch (error) {
    outcome.error = String(error);
  }
  const pre = document.createElement("pre");
  pre.id = "landscape-check";
  pre.textContent = JSON.stringify(outcome);
  document.body.appendChild(pre);
})();
