"""节日日历: the festivals a county's teams greet on. The national ones are computed (lunar
dates through lunar_python, Qingming as the solar term); a county's ethnic festivals (彝族年,
藏历新年 …) are configured with their days, year by year."""
