# Test-side helpers: a fresh machine folder per scenario, state look-ups, the template's step count.
Set-StrictMode -Version Latest

function New-TestMachine {
    param([Parameter(Mandatory)] [hashtable] $State)
    # run.ps1 gives every run one parent folder and deletes it at the end.
    $parent = $env:W365_TEST_MACHINES
    if (-not $parent) {
        $parent = [System.IO.Path]::GetTempPath()
    }
    $path = Join-Path $parent ("w365-machine-" + [guid]::NewGuid().ToString('N').Substring(0, 12))
    New-Item -ItemType Directory -Path $path | Out-Null
    return (New-FakeMachine -State $State -Path $path)
}

function Get-W365RegistryState {
    param($State, [string] $Path, [string] $Name)
    $key = $State.registry[$Path.ToLowerInvariant()]
    if ($null -eq $key) {
        return $null
    }
    $entry = $key.values[$Name.ToLowerInvariant()]
    if ($null -eq $entry) {
        return $null
    }
    return $entry.value
}

function Get-TemplateStepCount {
    <# Steps Invoke-TemplateBuild reports for a full build without extra scripts: one per provisioner. #>
    return @($BuildSequence.provisioners).Count
}

function Get-FactsShape {
    <# Section and field names of a facts document, two levels deep (join.* three), one per line. #>
    param($Document)
    $names = New-Object System.Collections.Generic.List[string]
    foreach ($section in $Document.PSObject.Properties) {
        $names.Add($section.Name)
        if ($section.Value -is [System.Management.Automation.PSCustomObject]) {
            foreach ($field in $section.Value.PSObject.Properties) {
                $names.Add("$($section.Name).$($field.Name)")
                if ($section.Name -eq 'join') {
                    foreach ($inner in @($field.Value.PSObject.Properties)) {
                        $names.Add("$($section.Name).$($field.Name).$($inner.Name)")
                    }
                }
            }
        }
    }
    return ($names -join "`n")
}
