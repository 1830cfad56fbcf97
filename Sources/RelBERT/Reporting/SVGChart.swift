import Foundation

/// Small self-contained SVG charts for the evaluation report: grouped bars and lines. No scripts, no
/// external fonts or styles, so a file opens the same in a browser, an image viewer or a Markdown page.
public enum SVGChart {
    public struct Series: Sendable {
        public var name: String
        /// One value per category (bars) or per x (lines); nil leaves a gap.
        public var values: [Double?]
        public var color: String
        public var strokeWidth: Double

        public init(name: String, values: [Double?], color: String, strokeWidth: Double = 1.5) {
            self.name = name
            self.values = values
            self.color = color
            self.strokeWidth = strokeWidth
        }
    }

    /// Colours that stay distinct for most readers (Okabe–Ito), the model's own series first.
    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999", "#F0E442"]

    /// Grouped vertical bars: one group per category, one bar per series, values printed above bars.
    public static func bars(title: String, categories: [String], series: [Series], yLabel: String,
                            yMaximum: Double = 100, width: Double = 760, height: Double = 380) -> String {
        let left = 56.0, right = 16.0, top = 40.0
        let columns = series.contains { $0.name.count > 48 } ? 1 : 2
        let legendRows = Double((series.count + columns - 1) / columns)
        let bottom = 40.0 + legendRows * 18
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var svg = header(width: width, height: height, title: title)
        svg += axes(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, yMaximum: yMaximum, yLabel: yLabel)
        let group = plotWidth / Double(max(categories.count, 1))
        let barWidth = min(28, group * 0.8 / Double(max(series.count, 1)))
        for (c, category) in categories.enumerated() {
            let groupLeft = left + Double(c) * group + (group - barWidth * Double(series.count)) / 2
            for (s, one) in series.enumerated() {
                guard c < one.values.count, let value = one.values[c] else { continue }
                let h = max(0, min(value, yMaximum)) / yMaximum * plotHeight
                let x = groupLeft + Double(s) * barWidth
                svg += rect(x: x, y: top + plotHeight - h, width: barWidth - 1, height: h, fill: one.color,
                            tooltip: "\(one.name), \(category): \(String(format: "%.1f", value))")
                svg += text(String(format: "%.1f", value), x: x + barWidth / 2, y: top + plotHeight - h - 3, size: 9, anchor: "middle")
            }
            svg += text(category, x: left + (Double(c) + 0.5) * group, y: top + plotHeight + 16, size: 12, anchor: "middle")
        }
        svg += legend(series, left: left, top: height - legendRows * 18 - 6, width: plotWidth, columns: columns)
        return svg + "</svg>\n"
    }

    /// Lines over a shared numeric x axis; `markers` draws dashed vertical lines with labels (epochs).
    public static func lines(title: String, x: [Double], series: [Series], xLabel: String, yLabel: String,
                             markers: [(x: Double, label: String)] = [], width: Double = 760, height: Double = 360) -> String {
        let left = 56.0, right = 16.0, top = 40.0, bottom = 58.0 + 18
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let values = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite)
        let yMinimum = 0.0
        let yMaximum = niceCeiling(values.max() ?? 1)
        let xMinimum = x.min() ?? 0, xMaximum = max(x.max() ?? 1, xMinimum + 1)
        func px(_ v: Double) -> Double { left + (v - xMinimum) / (xMaximum - xMinimum) * plotWidth }
        func py(_ v: Double) -> Double { top + plotHeight - (v - yMinimum) / (yMaximum - yMinimum) * plotHeight }
        var svg = header(width: width, height: height, title: title)
        svg += axes(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, yMaximum: yMaximum, yLabel: yLabel)
        for tick in ticks(from: xMinimum, to: xMaximum) {
            svg += text(format(tick), x: px(tick), y: top + plotHeight + 16, size: 11, anchor: "middle")
        }
        svg += text(xLabel, x: left + plotWidth / 2, y: top + plotHeight + 34, size: 12, anchor: "middle")
        for marker in markers {
            svg += "<line x1=\"\(f(px(marker.x)))\" y1=\"\(f(top))\" x2=\"\(f(px(marker.x)))\" y2=\"\(f(top + plotHeight))\" stroke=\"#bbbbbb\" stroke-dasharray=\"4 3\"/>\n"
            svg += text(marker.label, x: px(marker.x) + 4, y: top + 12, size: 10, anchor: "start")
        }
        for one in series {
            var path = ""
            var pen = false
            for (i, value) in one.values.enumerated() where i < x.count {
                guard let value, value.isFinite else { pen = false; continue }
                path += (pen ? "L" : "M") + "\(f(px(x[i]))) \(f(py(min(value, yMaximum)))) "
                pen = true
            }
            svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(one.color)\" stroke-width=\"\(f(one.strokeWidth))\" stroke-linejoin=\"round\"><title>\(escape(one.name))</title></path>\n"
        }
        svg += legend(series, left: left, top: height - 24, width: plotWidth)
        return svg + "</svg>\n"
    }

    // MARK: - pieces

    static func header(width: Double, height: Double, title: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="22" font-size="15" font-weight="bold" text-anchor="middle">\(escape(title))</text>

        """
    }

    static func axes(left: Double, top: Double, plotWidth: Double, plotHeight: Double, yMaximum: Double, yLabel: String) -> String {
        var svg = ""
        for tick in ticks(from: 0, to: yMaximum) {
            let y = top + plotHeight - tick / yMaximum * plotHeight
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>\n"
            svg += text(format(tick), x: left - 6, y: y + 4, size: 11, anchor: "end")
        }
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"#333333\"/>\n"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"#333333\"/>\n"
        svg += "<text x=\"14\" y=\"\(f(top + plotHeight / 2))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + plotHeight / 2)))\">\(escape(yLabel))</text>\n"
        return svg
    }

    static func legend(_ series: [Series], left: Double, top: Double, width: Double, columns: Int = 2) -> String {
        var svg = ""
        let column = width / Double(columns)
        for (i, one) in series.enumerated() {
            let x = left + Double(i % columns) * column, y = top + Double(i / columns) * 18
            svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"12\" height=\"12\" fill=\"\(one.color)\"/>\n"
            svg += text(one.name, x: x + 17, y: y + 10, size: 11, anchor: "start")
        }
        return svg
    }

    static func rect(x: Double, y: Double, width: Double, height: Double, fill: String, tooltip: String) -> String {
        "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"\(fill)\"><title>\(escape(tooltip))</title></rect>\n"
    }

    static func text(_ s: String, x: Double, y: Double, size: Double, anchor: String) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" text-anchor=\"\(anchor)\">\(escape(s))</text>\n"
    }

    /// About five round ticks from `low` to `high` inclusive.
    static func ticks(from low: Double, to high: Double) -> [Double] {
        let span = max(high - low, 1e-9)
        let raw = span / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var out: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high + step * 1e-6 { out.append(tick); tick += step }
        return out
    }

    static func niceCeiling(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(x)))
        return ([1.0, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map { $0 * magnitude }.first { $0 >= x }) ?? x
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e6 ? String(Int(v)) : String(format: abs(v) >= 10 ? "%.1f" : "%.2f", v)
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
