namespace Podvisor.Api.Schema;

/// <summary>The field's value must be one of the string constants of <see cref="ValuesFrom"/> (a static class).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaEnumAttribute(Type valuesFrom) : Attribute
{
    public Type ValuesFrom { get; } = valuesFrom;
}
