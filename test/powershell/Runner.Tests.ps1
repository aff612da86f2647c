# The runner itself: what it hands the interpreter is what Packer's powershell provisioner hands it.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Scenarios.ps1')
    . (Join-Path $PSScriptRoot 'PackerRunner.ps1')
    . (Join-Path $PSScriptRoot 'Machines.ps1')
    $machine = New-TestMachine -State (New-CleanBase)
    $probe = Join-Path $machine 'probe.ps1'
}

Describe 'the Packer-faithful runner' {
    It 'writes the variables file as Packer does: sorted, $env:NAME="value"; with $ " ` and '' escaped by a backtick' {
        $text = New-PackerVarsFile -EnvironmentVars @('W365_B=a$b"c`d''e', 'W365_A=1') -EmulateWindowsPowerShell $false
        $text | Should -BeExactly ('$env:PACKER_BUILD_NAME="w365-image"; $env:PACKER_BUILDER_TYPE="azure-arm"; $env:W365_A="1"; $env:W365_B="a`$b`"c``d`''e"; ')
    }

    It 'passes a value with PowerShell specials through unchanged' {
        [System.IO.File]::WriteAllText($probe, 'Write-Host "value=[$env:W365_B]"')
        $run = Invoke-PackerPowerShell -Machine $machine -Script $probe -EnvironmentVars @('W365_B=a$b"c`d''e')
        $run.Output | Should -Match ([regex]::Escape('value=[a$b"c`d''e]'))
    }

    It 'delivers an empty value unset, as Windows PowerShell 5.1 does' {
        [System.IO.File]::WriteAllText($probe, 'Write-Host "set=$(Test-Path Env:W365_EMPTY)"')
        (Invoke-PackerPowerShell -Machine $machine -Script $probe -EnvironmentVars @('W365_EMPTY=')).Output | Should -Match 'set=False'
    }

    It 'ends with exit $LastExitCode: a native failure the script recovered from still fails the step' {
        [System.IO.File]::WriteAllText($probe, "`$global:LASTEXITCODE = 5`nWrite-Host 'recovered'")
        $run = Invoke-PackerPowerShell -Machine $machine -Script $probe
        $run.Output | Should -Match 'recovered'
        $run.ExitCode | Should -Be 5
    }

    It 'fails the step on a thrown error' {
        [System.IO.File]::WriteAllText($probe, "`$ErrorActionPreference = 'Stop'`nthrow 'broken'")
        (Invoke-PackerPowerShell -Machine $machine -Script $probe).ExitCode | Should -Not -Be 0
    }

    It 'lets a script that does not parse pass, as Packer does (why the scripts are also parsed by the vitest suite)' {
        [System.IO.File]::WriteAllText($probe, 'if ($true {')
        (Invoke-PackerPowerShell -Machine $machine -Script $probe).ExitCode | Should -Be 0
    }

    It 'runs the elevated variant as a local logon, with its output in the step log' {
        [System.IO.File]::WriteAllText($probe, "Write-Host 'elevated run'`nexit 7")
        $run = Invoke-PackerPowerShell -Machine $machine -Script $probe -Elevated
        $run.Output | Should -Match 'elevated run'
        $run.ExitCode | Should -Be 7
        (Get-FakeMachineState -Path $machine).session | Should -Be 'winrm'
    }
}
