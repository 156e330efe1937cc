// The test set's confusion matrix as an HTML table (rows: true digit, columns: predicted), each
// cell shaded by its share of the row, so the diagonal reads as per-class recall and the
// mistakes stand out; a last column gives the recall itself. A table needs no chart plugin and
// stays readable (and selectable) at any size.

/** @param {HTMLElement} container @param {number[][]} counts */
export function renderConfusion(container, counts) {
  const table = document.createElement('table');
  table.className = 'confusion';
  const head = table.createTHead().insertRow();
  head.insertCell().outerHTML = '<th class="corner">true \\ predicted</th>';
  counts.forEach((_, p) => { head.insertCell().outerHTML = `<th>${p}</th>`; });
  head.insertCell().outerHTML = '<th>recall</th>';

  const body = table.createTBody();
  counts.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const tr = body.insertRow();
    tr.insertCell().outerHTML = `<th>${t}</th>`;
    row.forEach((count, p) => {
      const td = tr.insertCell();
      td.textContent = String(count);
      const share = count / total;
      // diagonal in blue, mistakes in red; the square root keeps small error counts visible
      const [r, g, b] = t === p ? [37, 99, 235] : [220, 38, 38];
      td.style.background = `rgba(${r}, ${g}, ${b}, ${Math.sqrt(share).toFixed(3)})`;
      if (share > 0.5) td.style.color = '#fff';
      td.title = `true ${t}, predicted ${p}: ${count} (${(share * 100).toFixed(1)}% of the ${t}s)`;
    });
    tr.insertCell().textContent = `${((row[t] / total) * 100).toFixed(1)}%`;
  });
  container.replaceChildren(table);
}
