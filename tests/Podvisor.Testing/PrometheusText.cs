using System.Globalization;
using System.Text.RegularExpressions;

namespace Podvisor.Testing;

/// <summary>One sample of a Prometheus scrape: a metric's name, labels and value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>Reads what a Prometheus endpoint serves (the text exposition format), as a scraper would.</summary>
public static partial class PrometheusText
{
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();

    /// <summary>The samples (comments and blank lines skipped).</summary>
    public static List<PrometheusSample> Parse(string text) => [.. text.Split('\n').Select(l => SampleLine().Match(l)).Where(m => m.Success && !m.Value.StartsWith('#'))
        .Select(m => new PrometheusSample(m.Groups["name"].Value,
            LabelPair().Matches(m.Groups["labels"].Value).ToDictionary(p => p.Groups["key"].Value, p => p.Groups["value"].Value),
            double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)))];

    /// <summary>The first sample of <paramref name="name"/> carrying all of <paramref name="labels"/>, or null.</summary>
    public static double? Value(IEnumerable<PrometheusSample> samples, string name, params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out string? v) && v == l.Value)).Select(s => (double?)s.Value).FirstOrDefault();
}
