package io.github.clattn.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.function.Function;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.style.HeatMapStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.CategoryStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The CLI's charts, drawn with XChart: the benchmark's GFLOP/s against sequence length (PNG or
 * SVG), and a grid of attention-weight heat maps (PNG). Rendering needs no display (headless
 * AWT) but does need a font; a machine without one gets a one-line failure with the fix.
 */
final class Charts {
    /** Largest heat map drawn cell by cell; larger weight matrices are averaged over blocks. */
    static final int MAX_CELLS_PER_SIDE = 64;

    private Charts() {
    }

    /** One line of the benchmark chart: a device, its sequence lengths and GFLOP/s. */
    record Line(String label, List<Integer> seq, List<Double> gflops) {
    }

    /**
     * GFLOP/s against sequence length, a line per device, axes labelled. The measured lengths are
     * the x axis's categories, evenly spaced and each labelled: sweeps usually double N, and a
     * category axis then reads like a log axis whose every tick is a measured size.
     */
    static CategoryChart benchChart(String title, List<Line> lines) {
        TreeSet<Integer> lengths = new TreeSet<>();
        lines.forEach(line -> lengths.addAll(line.seq()));
        CategoryChart chart = new CategoryChartBuilder().width(900).height(560).title(title)
                .xAxisTitle("sequence length N (tokens)").yAxisTitle("GFLOP/s (median call)").build();
        CategoryStyler s = chart.getStyler();
        s.setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        s.setOverlapped(true); // every device's point for a length sits on that length's tick
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotBorderVisible(true);
        s.setPlotGridLinesColor(new Color(225, 225, 225));
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setLegendBorderColor(Color.WHITE);
        s.setMarkerSize(8);
        s.setYAxisMin(0.0);
        s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        s.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        List<String> x = new ArrayList<>();
        lengths.forEach(n -> x.add(Integer.toString(n)));
        for (Line line : lines) {
            if (line.seq().isEmpty()) {
                continue;
            }
            // A size that failed on this device has no point (null): the line skips it.
            List<Double> y = new ArrayList<>();
            for (int n : lengths) {
                int at = line.seq().indexOf(n);
                y.add(at < 0 ? null : line.gflops().get(at));
            }
            CategorySeries series = chart.addSeries(line.label(), x, y);
            series.setMarker(SeriesMarkers.CIRCLE);
            series.setLineStyle(new BasicStroke(2f));
        }
        return chart;
    }

    /** Writes {@code chart} as PNG or SVG by {@code format} ("png" or "svg"). */
    static void write(CategoryChart chart, String format, OutputStream out) throws IOException {
        try {
            if (format.equals("svg")) {
                VectorGraphicsEncoder.saveVectorGraphic(chart, out, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
            } else {
                BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
            }
        } catch (RuntimeException | LinkageError | InternalError e) { // AWT without fonts fails in any of these
            throw renderingFailure(e);
        }
    }

    /**
     * The attention weights of batch row 0 as a grid of heat maps, one panel per head, rows are
     * queries and columns keys, one shared colour scale from 0 to the largest weight. Matrices
     * larger than {@value #MAX_CELLS_PER_SIDE} per side are averaged over square-ish blocks.
     *
     * @param weights {@code [B, H, N, M]}
     */
    static void writeWeightsGrid(float[] weights, int heads, int queries, int keys, OutputStream out) throws IOException {
        int rowStep = niceAtLeast(ceilDiv(queries, MAX_CELLS_PER_SIDE));
        int colStep = niceAtLeast(ceilDiv(keys, MAX_CELLS_PER_SIDE));
        int rows = ceilDiv(queries, rowStep);
        int cols = ceilDiv(keys, colStep);
        double max = 0;
        List<double[][]> panels = new ArrayList<>();
        for (int h = 0; h < heads; h++) {
            double[][] cell = new double[rows][cols];
            int[][] count = new int[rows][cols];
            int base = h * queries * keys; // batch row 0
            for (int i = 0; i < queries; i++) {
                for (int j = 0; j < keys; j++) {
                    cell[i / rowStep][j / colStep] += weights[base + i * keys + j];
                    count[i / rowStep][j / colStep]++;
                }
            }
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    cell[r][c] /= count[r][c];
                    max = Math.max(max, cell[r][c]);
                }
            }
            panels.add(cell);
        }
        // The scale's top: the largest weight rounded up to two significant digits (a short legend label).
        max = max == 0 ? 1 : roundUp(max);
        String blocks = rowStep == 1 && colStep == 1 ? ""
                : String.format(Locale.ROOT, " (cell = mean of %dx%d)", rowStep, colStep);
        List<HeatMapChart> charts = new ArrayList<>();
        int panelCols = (int) Math.ceil(Math.sqrt(heads));
        int panelRows = ceilDiv(heads, panelCols);
        int side = heads == 1 ? 640 : heads <= 4 ? 480 : 380;
        for (int h = 0; h < heads; h++) {
            charts.add(heatMap("head " + h + ", batch 0" + blocks, panels.get(h), rowStep, colStep, max, side));
        }
        try {
            BufferedImage grid = new BufferedImage(panelCols * side, panelRows * side, BufferedImage.TYPE_INT_RGB);
            java.awt.Graphics2D g = grid.createGraphics();
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
            for (int h = 0; h < heads; h++) {
                BufferedImage panel = BitmapEncoder.getBufferedImage(charts.get(h));
                g.drawImage(panel, (h % panelCols) * side, (h / panelCols) * side, null);
            }
            g.dispose();
            if (!ImageIO.write(grid, "png", out)) {
                throw new IOException("no PNG writer in this Java runtime");
            }
        } catch (RuntimeException | LinkageError | InternalError e) { // AWT without fonts fails in any of these
            throw renderingFailure(e);
        }
    }

    private static HeatMapChart heatMap(String title, double[][] cells, int rowStep, int colStep, double max, int side) {
        int rows = cells.length;
        int cols = cells[0].length;
        HeatMapChart chart = new HeatMapChartBuilder().width(side).height(side).title(title)
                .xAxisTitle(colStep == 1 ? "key j" : "key j (block start)")
                .yAxisTitle(rowStep == 1 ? "query i" : "query i (block start)").build();
        HeatMapStyler s = chart.getStyler();
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotContentSize(1.0);
        s.setPlotGridLinesVisible(false);
        s.setDrawBorder(false);
        s.setDecimalPattern("0.0##");
        s.setShowValue(false);
        s.setMin(0);
        s.setMax(max);
        s.setRangeColors(new Color[] {new Color(255, 255, 255), new Color(253, 174, 97),
            new Color(215, 48, 39), new Color(90, 0, 20)});
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setHeatMapValueDecimalPattern("0.00");
        s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        // XChart labels every category; with many, only every k-th gets its text.
        s.setxAxisTickLabelsFormattingFunction(positionLabels(cols, colStep));
        s.setyAxisTickLabelsFormattingFunction(positionLabels(rows, rowStep));
        // XChart draws the first y category at the bottom: query 0 is the bottom row.
        List<Integer> xData = new ArrayList<>();
        for (int c = 0; c < cols; c++) {
            xData.add(c * colStep);
        }
        List<Integer> yData = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            yData.add(r * rowStep);
        }
        List<Number[]> heat = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                heat.add(new Number[] {c, r, cells[r][c]});
            }
        }
        chart.addSeries("weight", xData, yData, heat);
        return chart;
    }

    /** Labels for at most about eight of {@code count} categories whose values are multiples of {@code step}. */
    private static Function<Double, String> positionLabels(int count, int step) {
        int every = 1;
        while (count / every > 8) {
            every = niceAtLeast(every + 1);
        }
        int labelEvery = every;
        return v -> {
            long category = Math.round(v) / step;
            return category % labelEvery == 0 ? Long.toString(Math.round(v)) : "";
        };
    }

    private static double roundUp(double v) {
        return new java.math.BigDecimal(v).round(new java.math.MathContext(2, java.math.RoundingMode.CEILING)).doubleValue();
    }

    /** The smallest of 1, 2, 5, 10, 20, 50, ... that is at least {@code n}. */
    static int niceAtLeast(int n) {
        int decade = 1;
        while (true) {
            for (int m : new int[] {1, 2, 5}) {
                if ((long) m * decade >= n) {
                    return m * decade;
                }
            }
            decade *= 10;
        }
    }

    private static CliFailure renderingFailure(Throwable e) {
        return new CliFailure("cannot draw the chart (" + e + "); headless Java needs fontconfig and a font, e.g. "
                + "apt-get install fontconfig fonts-dejavu-core", e);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
