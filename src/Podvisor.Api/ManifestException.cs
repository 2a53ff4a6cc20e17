namespace Podvisor.Api;

/// <summary>A manifest that cannot be used, with every problem found (each names its field or line).</summary>
public sealed class ManifestException(string source, IReadOnlyList<string> problems)
    : Exception($"{source}: " + string.Join(Environment.NewLine + "  ", problems))
{
    public string ManifestSource { get; } = source;

    public IReadOnlyList<string> Problems { get; } = problems;
}
