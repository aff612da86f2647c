# The default build: packer/build.pkr.hcl's whole provisioner sequence, run as Packer runs it, on a clean
# win11-25h2-ent-cpc base with the template's default variables.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Scenarios.ps1')
    . (Join-Path $PSScriptRoot 'TemplateBuild.ps1')
    . (Join-Path $PSScriptRoot 'Machines.ps1')
}

Describe 'clean win11-25h2-ent-cpc base, default variables' {
    BeforeAll {
        $machine = New-TestMachine -State (New-CleanBase)
        $steps = @(Invoke-TemplateBuild -Machine $machine -SysprepCheck)
        $state = Get-FakeMachineState -Path $machine
        $facts = Get-Content -LiteralPath (Join-Path $machine 'output/w365-facts.json') -Raw | ConvertFrom-Json
    }

    It 'runs every provisioner of the template, in order, to sysprep without a failure' {
        $failed = @($steps | Where-Object { $_.ExitCode -ne 0 } | ForEach-Object { "$($_.Name): $($_.Output)" })
        $failed | Should -BeNullOrEmpty
        $steps.Count | Should -Be (Get-TemplateStepCount)
        $steps[-1].Name | Should -Be 'powershell sysprep.ps1'
        (Get-W365RegistryState -State $state -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -Name 'ImageState') | Should -Be 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
    }

    It 'its facts match the schema and the bundled sysprep-check passes them' {
        $verdict = Get-SysprepVerdict -FactsPath (Join-Path $machine 'output/w365-facts.json')
        $verdict.Result.schemaErrors | Should -BeNullOrEmpty
        $verdict.Result.passed | Should -BeTrue
        $verdict.ExitCode | Should -Be 0
    }

    It 'empty values: remove_appx_packages = [] and run_url = "" arrive unset (Windows PowerShell 5.1) and read as empty' {
        ($steps | Where-Object Name -eq 'powershell remove-appx.ps1').Output | Should -Match 'No AppX packages to remove'
        $facts.collector.runUrl | Should -Be ''
    }

    It 'pauses Store auto-download and Automatic Updates for the build and restores them before Sysprep runs' {
        $events = @($state.events)
        $paused = [array]::IndexOf($events, 'task disabled \Microsoft\Windows\WindowsUpdate\Scheduled Start')
        $restored = [array]::IndexOf($events, 'task enabled \Microsoft\Windows\WindowsUpdate\Scheduled Start')
        $sysprep = @($events | Where-Object { $_ -like 'start sysprep.exe*' })
        $paused | Should -BeGreaterOrEqual 0
        $restored | Should -BeGreaterThan $paused
        [array]::IndexOf($events, $sysprep[0]) | Should -BeGreaterThan $restored
        $state.scheduledTasks['\Microsoft\Windows\WindowsUpdate\Scheduled Start'].state | Should -Be 'Ready'
        (Get-W365RegistryState -State $state -Path 'HKLM:\SOFTWARE\Policies\Microsoft\WindowsStore' -Name 'AutoDownload') | Should -BeNullOrEmpty
        $facts.buildVm.storeAutoDownloadPaused | Should -BeTrue
    }

    It 'cleans up components and the answer file Azure left, and the facts observe the file gone' {
        @($state.events) | Should -Contain 'run dism.exe /Online /Cleanup-Image /StartComponentCleanup'
        $panther = @($facts.unattend.files | Where-Object { $_.path -like '*Panther*Unattend.xml' })[0]
        $panther.exists | Should -BeFalse
        $panther.removedBeforeSysprep | Should -BeTrue
    }

    It 'counts Start-menu apps machine-wide (shortcuts plus provisioned packages), not as the WinRM user' {
        # 5 shortcuts in ProgramData, 4 provisioned apps of the base plus MSTeams provisioned by teams.ps1.
        $facts.startMenu.appCount | Should -Be 10
        $facts.startMenu.error | Should -BeNullOrEmpty
    }

    It 'writes the sections and fields of the TypeScript fixture test/fixtures/facts/clean-win11-25h2.json (no drift)' {
        $fixture = Get-Content -LiteralPath (Join-Path $RepositoryRoot 'test/fixtures/facts/clean-win11-25h2.json') -Raw | ConvertFrom-Json
        Get-FactsShape $facts | Should -Be (Get-FactsShape $fixture)
    }

    It 'records the exact base version the VM booted from (instance metadata), not "latest"' {
        $facts.baseImage.exactVersion | Should -Be '26200.6899.251112'
        $facts.baseImage.sku | Should -Be 'win11-25h2-ent-cpc'
        $facts.buildVm.securityType | Should -Be 'Standard'
        $facts.buildVm.firmware | Should -Be 'UEFI'
    }
}
