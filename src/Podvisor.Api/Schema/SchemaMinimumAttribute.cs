namespace Podvisor.Api.Schema;

/// <summary>An integer field's smallest allowed value.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaMinimumAttribute(long minimum) : Attribute
{
    public long Minimum { get; } = minimum;
}
