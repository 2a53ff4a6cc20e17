namespace Podvisor.Api.Schema;

/// <summary>The field's value must be one of these strings.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaValuesAttribute(params string[] values) : Attribute
{
    public string[] Values { get; } = values;
}
