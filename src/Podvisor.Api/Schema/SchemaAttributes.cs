namespace Podvisor.Api.Schema;

// Schema facts the C# types cannot say themselves; the CRD generator turns them into openAPIV3Schema.

/// <summary>The field's value must be one of the string constants of <see cref="ValuesFrom"/> (a static class).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaEnumAttribute(Type valuesFrom) : Attribute
{
    public Type ValuesFrom { get; } = valuesFrom;
}

/// <summary>The field's value must be one of these strings.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaValuesAttribute(params string[] values) : Attribute
{
    public string[] Values { get; } = values;
}

/// <summary>An integer field's smallest allowed value.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaMinimumAttribute(long minimum) : Attribute
{
    public long Minimum { get; } = minimum;
}

/// <summary>A string field's regular expression (ECMA-262, as Kubernetes checks it).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaPatternAttribute(string pattern) : Attribute
{
    public string Pattern { get; } = pattern;
}

/// <summary>A Kubernetes quantity ("256Mi", or a plain number): int-or-string with the quantity pattern.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaQuantityAttribute : Attribute;

/// <summary>The field must be present.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRequiredAttribute : Attribute;
