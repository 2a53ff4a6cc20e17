namespace Podvisor.Api.Schema;

/// <summary>A string field's regular expression (ECMA-262, as Kubernetes checks it).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaPatternAttribute(string pattern) : Attribute
{
    public string Pattern { get; } = pattern;
}
