// Counts, in the page, the chart canvas pixels painted in each source class's colour: proof that
// the classes are drawn, not only listed in the data. A string, because it runs in the browser.
export function countChartPixelsScript(colors: Record<string, string>): string {
  return `(() => {
    const colors = ${JSON.stringify(colors)}
    const canvas = document.querySelector('[data-testid="speed-chart"] canvas')
    if (!canvas) return {}
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
    const wanted = Object.entries(colors).map(([name, hex]) => [name, parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)])
    const counts = Object.fromEntries(wanted.map(([name]) => [name, 0]))
    for (let i = 0; i < data.length; i += 4) {
      for (const [name, r, g, b] of wanted) if (data[i] === r && data[i + 1] === g && data[i + 2] === b && data[i + 3] === 255) counts[name]++
    }
    return counts
  })()`
}
