namespace Podvisor.Api;

/// <summary>What is wrong with one field, named by its path as kubectl shows it ("spec.template.spec.domain.cpu.cores").</summary>
public sealed record FieldError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}
